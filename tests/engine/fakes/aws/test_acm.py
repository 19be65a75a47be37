"""ACM certificates: one DNS validation record per domain, a wildcard shares its base's."""

from __future__ import annotations

import re

from looper_infra.engine.fakes.aws import acm
from looper_infra.engine.mocks import MockContext


def test_acm_dns_validation_options_one_per_domain_wildcard_shares_its_base() -> None:
    cert = acm.certificate("app", {"domainName": "looper.example.com", "validationMethod": "DNS",
                                   "subjectAlternativeNames": ["*.looper.example.com", "api.example.com"]},
                           MockContext())
    assert re.fullmatch(r"arn:aws:acm:ap-northeast-2:123456789012:certificate/[0-9a-f-]{36}", cert["arn"])
    assert cert["status"] == "PENDING_VALIDATION"
    options = {o["domainName"]: o for o in cert["domainValidationOptions"]}
    assert set(options) == {"looper.example.com", "*.looper.example.com", "api.example.com"}
    for domain, option in options.items():
        base = domain.removeprefix("*.")
        assert re.fullmatch(rf"_[0-9a-f]{{32}}\.{re.escape(base)}\.", option["resourceRecordName"])
        assert re.fullmatch(r"_[0-9a-f]{32}\.[a-z]{10}\.acm-validations\.aws\.",
                            option["resourceRecordValue"])
        assert option["resourceRecordType"] == "CNAME"
    assert options["*.looper.example.com"]["resourceRecordName"] == \
        options["looper.example.com"]["resourceRecordName"]
    assert options["api.example.com"]["resourceRecordName"] != \
        options["looper.example.com"]["resourceRecordName"]


def test_a_certificate_without_dns_validation_has_no_records() -> None:
    cert = acm.certificate("imported", {"domainName": "a.example.com"}, MockContext())
    assert cert["domainValidationOptions"] == [] and cert["status"] == "ISSUED"
    assert cert["subjectAlternativeNames"] == []
