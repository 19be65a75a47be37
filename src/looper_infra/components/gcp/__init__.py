"""GCP components. Import the module you need; importing pulumi_gcp submodules is costly."""
