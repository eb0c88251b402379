#!/usr/bin/env python3
"""Check that the official Runtype Python SDK works against the rtctl emulator unchanged.

The SDK's low-level client (`RuntypeApi`) is generated from Runtype's own API definition and
validates every reply with pydantic models, so a clean run means the emulator's shapes match
the real API's. Each step prints one line; the last line is 'N passed, M failed'.

    python3 -m venv .venv && .venv/bin/pip install runtype-sdk
    cargo build && .venv/bin/python scripts/sdk_check.py --binary target/debug/rtctl

Or against an emulator that is already running:

    RUNTYPE_API_URL=http://127.0.0.1:7878 RUNTYPE_API_KEY=rt_test_emulator \\
        .venv/bin/python scripts/sdk_check.py
"""

import argparse
import os
import subprocess
import sys
import traceback

try:
    from runtype import RuntypeApi
    from runtype._generated.core.api_error import ApiError
except ImportError:  # pragma: no cover - depends on the environment
    sys.exit("runtype-sdk is not installed: python3 -m venv .venv && .venv/bin/pip install runtype-sdk")


def start_emulator(binary):
    """Starts `rtctl emulator` on a free port; its first stdout line is the base URL."""
    process = subprocess.Popen(
        [binary, "emulator", "--port", "0", "--seed", "none", "--flow", "flow_sdk", "--quiet"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    url = process.stdout.readline().strip()
    if not url.startswith("http://"):
        process.kill()
        sys.exit(f"the emulator did not print its URL (got {url!r})")
    return process, url


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("RUNTYPE_API_URL"))
    parser.add_argument("--api-key", default=os.environ.get("RUNTYPE_API_KEY", "rt_test_emulator"))
    parser.add_argument("--binary", help="start this rtctl binary's emulator instead of using --url")
    args = parser.parse_args()

    process = None
    if args.binary:
        process, url = start_emulator(args.binary)
    elif args.url:
        url = args.url
    else:
        parser.error("give --binary PATH, or --url URL (or set RUNTYPE_API_URL)")

    # The generated client sends `api_key` as the raw Authorization header (no "Bearer"),
    # which the real service, and so the emulator, accept.
    api = RuntypeApi(base_url=url, authorization=f"Bearer {args.api_key}", api_key=args.api_key)
    tokens = api.client_tokens
    state = {}
    results = []

    def step(name, check):
        try:
            detail = check()
            results.append(True)
            print(f"ok    {name}" + (f": {detail}" if detail else ""))
        except Exception as error:  # report every failure, then carry on
            results.append(False)
            print(f"FAIL  {name}: {error!r}")
            traceback.print_exc(limit=3, file=sys.stdout)

    def create():
        created = tokens.create_client_token(
            name="SDK check widget",
            allowed_origins=["https://sdk.example.com"],
            flow_ids=["flow_sdk"],
            default_flow_id="flow_sdk",
            environment="test",
            rate_limit_per_minute=10.0,  # the SDK types limits as floats
            config={"welcomeMessage": "Hello from the SDK"},
        )
        assert created.token.startswith("ct_test_"), created.token
        assert created.client_token.name == "SDK check widget"
        state["id"] = created.client_token.id
        state["value"] = created.token
        return state["id"]

    def list_all():
        listed = tokens.list_client_tokens()
        ids = [t.id for t in listed.client_tokens]
        assert state["id"] in ids, ids
        paged = tokens.list_client_tokens(limit=1, offset=0)
        assert paged.pagination is not None and paged.pagination.limit == 1
        return f"{len(ids)} token(s)"

    def get():
        token = tokens.get_client_token(state["id"]).client_token
        assert token.allowed_origins == ["https://sdk.example.com"]
        assert token.conversation_count == 0
        return token.environment

    def update():
        updated = tokens.update_client_token(
            state["id"],
            name="SDK check widget (renamed)",
            allowed_origins=["https://sdk.example.com", "https://www.sdk.example.com"],
        ).client_token
        assert updated.name == "SDK check widget (renamed)"
        assert len(updated.allowed_origins) == 2
        assert updated.rate_limit_per_minute == 10

    def value():
        read = tokens.get_client_token_value(state["id"])
        assert read.token == state["value"]

    def regenerate():
        rotated = tokens.regenerate_client_token(state["id"])
        assert rotated.token != state["value"]
        assert rotated.client_token.id == state["id"]
        state["value"] = rotated.token
        assert tokens.get_client_token_value(state["id"]).token == rotated.token

    def conversations():
        listed = tokens.list_conversations_for_client_token(state["id"])
        filtered = tokens.list_conversations_for_client_token(state["id"], flow_id="flow_sdk", limit=5)
        assert listed.conversations == [] and filtered.pagination.limit == 5
        return f"hasMore={listed.pagination.has_more}"

    def delete():
        deleted = tokens.delete_client_token(state["id"])
        assert deleted.success is True
        try:
            tokens.get_client_token(state["id"])
        except ApiError as error:
            assert error.status_code == 404, error.status_code
            return "then 404"
        raise AssertionError("the token is still there after delete")

    try:
        for name, check in [
            ("create", create),
            ("list", list_all),
            ("get", get),
            ("update", update),
            ("read the value", value),
            ("regenerate", regenerate),
            ("list conversations", conversations),
            ("delete", delete),
        ]:
            step(name, check)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=10)

    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
