"""Small utilities every layer may use: cloud names, labels and tags, CIDR math, private files,
the cache directory and where the Pulumi project lives. Nothing here knows a stage."""
