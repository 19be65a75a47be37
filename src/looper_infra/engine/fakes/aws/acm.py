"""ACM certificates and their validation: DNS validation records one per domain (a wildcard
shares its base domain's record), as ACM hands them out."""

from __future__ import annotations

import string
from typing import Any

from looper_infra.engine.fakes.aws.ids import arn
from looper_infra.engine.fakes.aws.state import region_of
from looper_infra.engine.fakes.seeded import HEX, chars, uuid4
from looper_infra.engine.mocks import Fake, MockContext


def _validation_domain(domain: str) -> str:
    return domain[2:] if domain.startswith("*.") else domain  # a wildcard shares its base's record


def _domains(inputs: dict[str, Any]) -> list[str]:
    domains: list[str] = []
    for domain in [inputs.get("domainName"), *(inputs.get("subjectAlternativeNames") or [])]:
        if domain and domain not in domains:
            domains.append(str(domain))
    return domains


def _dns_validation(cert_arn: str, region: str, domain: str) -> dict[str, str]:
    base = _validation_domain(domain)
    token = chars(HEX, 32, "acm-name", cert_arn, base)
    return {
        "domainName": domain, "resourceRecordName": f"_{token}.{base}.",
        "resourceRecordType": "CNAME",
        "resourceRecordValue": f"_{chars(HEX, 32, 'acm-value', cert_arn, base)}."
                               f"{chars(string.ascii_lowercase, 10, 'acm-zone', region)}"
                               ".acm-validations.aws."}


def certificate(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    region = region_of(inputs, ctx)
    cert_arn = arn("acm", region, ctx.aws_account, f"certificate/{uuid4('acm', name)}")
    domains = _domains(inputs)
    options = []
    if (inputs.get("validationMethod") or "").upper() == "DNS":
        options = [_dns_validation(cert_arn, region, domain) for domain in domains]
    return {**inputs, "id": cert_arn, "arn": cert_arn, "domainValidationOptions": options,
            "subjectAlternativeNames": domains[1:] if domains else [],
            "status": "PENDING_VALIDATION" if options else "ISSUED", "type": "AMAZON_ISSUED",
            "keyAlgorithm": inputs.get("keyAlgorithm") or "RSA_2048", "pendingRenewal": False,
            "renewalEligibility": "INELIGIBLE", "renewalSummaries": [], "validationEmails": [],
            "notBefore": "", "notAfter": "", "region": region}


def certificate_validation(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    # the provider's ID is the certificate's issue time
    return {**inputs, "id": "2025-01-01 00:00:00 +0000 UTC", "region": region_of(inputs, ctx)}


FAKES: dict[str, Fake] = {
    "aws:acm/certificate:Certificate": certificate,
    "aws:acm/certificateValidation:CertificateValidation": certificate_validation,
}
