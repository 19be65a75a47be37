"""Policy pack: plain validator functions over resource inputs, used two ways.

* offline: `looper check STAGE` evaluates them on the recorded plan;
* with the Pulumi CLI: `pulumi preview --policy-pack policies/` (policies/__main__.py
  wraps the same functions in a pulumi_policy PolicyPack).
"""
