import logging

from portal.logging import RedactSecretsFilter, redact


def test_jwts_are_masked():
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXZhbHVl"
    assert "eyJ" not in redact(f"token {jwt} end")


def test_codes_and_secrets_in_query_strings_are_masked():
    text = redact("GET /auth/callback/?code=0.AbCdEf123&state=s client_secret=shh password=p1")
    assert "AbCdEf123" not in text and "shh" not in text and "p1" not in text
    assert "state=s" in text


def test_the_filter_rewrites_log_records_with_arguments():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "auth %s", ("Bearer abc.def",), None)
    RedactSecretsFilter().filter(record)
    assert "abc.def" not in record.getMessage()
