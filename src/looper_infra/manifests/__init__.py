"""Pure builders of the documents components apply or publish: pod-spec pieces, the web identity
of IRSA pods, and the trust documents of v4 (CA hash, kubeconfig, OIDC discovery and JWKS)."""
