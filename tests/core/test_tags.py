"""Labels and tags: common keys first, in one builder per cloud."""

from __future__ import annotations

import pytest

from looper_infra.core.tags import aws_tags, gcp_labels


def test_aws_tags_common_keys_then_the_stack_own() -> None:
    tags = aws_tags(app="looper", env="prod", stack="v4-prod", extra={"team": "infra"})
    assert list(tags) == ["app", "env", "stack", "managed-by", "team"]
    assert tags == {"app": "looper", "env": "prod", "stack": "v4-prod", "managed-by": "pulumi",
                    "team": "infra"}


def test_gcp_labels_are_cleaned_and_checked() -> None:
    assert gcp_labels(app="Looper", env="dev", stack="v1.dev") == {
        "app": "looper", "env": "dev", "stack": "v1-dev", "managed-by": "pulumi"}
    with pytest.raises(ValueError, match="label key"):
        gcp_labels(app="a", env="b", stack="c", extra={"Bad": "x"})
