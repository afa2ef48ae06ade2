"""API keys, session tokens and PKCE values: shape, entropy, digests; the return_to guard."""

import hashlib

import pytest

from frontline.accounts import oauth, tokens


def test_api_keys_are_prefixed_random_and_stored_as_sha256_and_last_four():
    keys = [tokens.new_api_key() for _ in range(50)]
    assert len({k.plaintext for k in keys}) == 50
    for key in keys:
        assert key.plaintext.startswith("fl_") and len(key.plaintext) == 3 + 43  # 32 bytes of base64url
        assert key.hash == hashlib.sha256(key.plaintext.encode()).hexdigest()
        assert key.visible == key.plaintext[-4:]


def test_pkce_s256_matches_rfc_7636_appendix_b():
    assert tokens.pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == \
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert 43 <= len(tokens.new_pkce_verifier()) <= 128


@pytest.mark.parametrize(("asked", "kept"), [
    ("/dashboard?tab=keys", "/dashboard?tab=keys"), (None, "/"), ("https://evil.example/", "/"),
    ("//evil.example/", "/"), ("/\\evil.example", "/"), ("dashboard", "/"),
    ("/\t/evil.example", "/"), ("/\n/evil.example", "/"), ("/a\\b", "/"), ("/x\x7f", "/"),
])
def test_return_to_stays_on_this_site(asked, kept):
    assert oauth.safe_return_to(asked) == kept
