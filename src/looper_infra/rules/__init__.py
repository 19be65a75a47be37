"""Network rule tables as data: GCP firewall rules, AWS security-group rules per node role, the
HA VPN wiring (tunnels, inside CIDRs, ASNs, ciphers) and Kubernetes NetworkPolicies."""
