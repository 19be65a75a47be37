"""Facts shared by config, components and bootstrap (pure data and checks, imported downward):
zone and GPU tables, chart and image pins, maintenance-window rules, the v4 <-> v4-platform
contract. Each fact lives here once, so the layers that use it cannot drift apart."""
