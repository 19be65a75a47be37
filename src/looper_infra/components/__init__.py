"""ComponentResource classes, one entity per file, grouped by cloud."""
