"""What is made from a plan for people and tools: the plan view, diagram, topology tables, cost
estimate and exports (Terraform-plan JSON, Kubernetes manifests for scanners)."""
