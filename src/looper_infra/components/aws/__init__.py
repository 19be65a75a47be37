"""AWS components. Import the module you need; importing pulumi_aws submodules is costly."""
