"""Who may connect to NATS and publish where: users, passwords and permissions.

- each dealership's systems (`dealer-<id>`): publish only `dealer.in.<id>.>`;
- each service (`laoke-<service>`): publish only the RETENTION subjects of the event types it
  records (intake: the inbound types and CustomersMerged; complaints: its decisions; ...),
  its own dead letters `dlq.<service>.>`, and the JetStream API it needs (never stream delete
  or purge);
- `laoke-admin`: everything (ops tools, `laoke rebuild`, the simulator);
- nobody else connects: the server has no anonymous user.

A dealership subscribes only to its own inbox prefix `_INBOX.dealer-<id>.>` (it connects
with that `inbox_prefix`), so it cannot listen in on other clients' replies or deliveries.
Passwords are generated into `<data_dir>/nats-credentials.json` (mode 0600) on first use.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from events import INBOUND_TYPES
from laoke.streams import LEASES

ADMIN = "laoke-admin"
NAME = re.compile(r"^[a-z0-9-]{1,64}$")

# The recorded-only types each service decides (events/recorded.py); intake records the rest.
SERVICE_DECISIONS: dict[str, tuple[str, ...]] = {
    "intake": ("CustomersMerged", *sorted(INBOUND_TYPES)),
    "complaints": (
        "ApologyOverdue",
        "ComplaintClosed",
        "ComplaintClockSet",
        "ComplaintEscalated",
        "ComplaintResolved",
        "ComplaintStepRejected",
        "ContactRequested",
        "RemedyRefused",
    ),
    "outreach": (
        "FollowUpDue",
        "FollowUpExpired",
        "FollowUpSkipped",
        "PhoneFlagged",
        "SurveyAnswerRejected",
    ),
    "referrals": ("ContactRequested", "ReferralRejected", "ReferralVerified", "RewardGranted"),
    "workshop": ("ComplaintRiskFlagged", "ContactRequested", "ScopeChangeBreached"),
    "projections": (),
}

# JetStream API a service uses: stream info/create/update, its consumers, direct reads.
JS_API_DENY = ["$JS.API.STREAM.DELETE.>", "$JS.API.STREAM.PURGE.>", "$JS.API.STREAM.MSG.DELETE.>"]


def service_user(service: str) -> str:
    return f"laoke-{service}"


def dealer_user(dealership_id: str) -> str:
    return f"dealer-{dealership_id}"


def inbox_prefix(user: str) -> str:
    return f"_INBOX.{user}"


@dataclass(frozen=True)
class Permissions:
    publish: list[str]
    subscribe: list[str]
    publish_deny: tuple[str, ...] = ()

    def config(self) -> dict[str, object]:
        publish: dict[str, object] = {"allow": self.publish}
        if self.publish_deny:
            publish["deny"] = list(self.publish_deny)
        return {"publish": publish, "subscribe": {"allow": self.subscribe}}


def service_permissions(service: str) -> Permissions:
    publish = [f"retention.*.*.{t}" for t in SERVICE_DECISIONS.get(service, ())]
    publish += [f"dlq.{service}.>", "$JS.API.>", "$JS.ACK.>", "$JS.FC.>", f"$KV.{LEASES}.>"]
    if service == "intake":
        publish.append("dealer.in.>")  # forwards HTTP events to the replica of their partition
    # nats-py's JetStream pull subscriptions use `_INBOX.` whatever the connection's prefix,
    # so services (our own code) subscribe to all inboxes; dealerships never can.
    return Permissions(publish, ["_INBOX.>"], tuple(JS_API_DENY))


def dealer_permissions(dealership_id: str) -> Permissions:
    user = dealer_user(dealership_id)
    return Permissions([f"dealer.in.{dealership_id}.>"], [f"{inbox_prefix(user)}.>"])


@dataclass
class Credentials:
    """Passwords by user name; saved as JSON beside the data."""

    path: Path
    passwords: dict[str, str]

    @classmethod
    def load_or_create(cls, path: Path, services: list[str], dealerships: list[str]) -> Credentials:
        passwords: dict[str, str] = {}
        if path.exists():
            passwords = dict(json.loads(path.read_text())["passwords"])
        wanted = [ADMIN, *(service_user(s) for s in services)]
        wanted += [dealer_user(d) for d in dealerships]
        changed = False
        for user in wanted:
            if user not in passwords:
                passwords[user] = secrets.token_urlsafe(24)
                changed = True
        creds = cls(path, passwords)
        if changed or not path.exists():
            creds.save()
        return creds

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump({"passwords": self.passwords}, out, indent=2)
        os.replace(tmp, self.path)

    def password(self, user: str) -> str:
        return self.passwords[user]


def permissions_of(user: str) -> Permissions | None:
    """None = every permission (the admin)."""
    if user == ADMIN:
        return None
    if user.startswith("laoke-"):
        return service_permissions(user.removeprefix("laoke-"))
    if user.startswith("dealer-"):
        return dealer_permissions(user.removeprefix("dealer-"))
    raise ValueError(f"unknown kind of NATS user {user!r}")


def authorization_config(passwords: dict[str, str]) -> str:
    """The nats-server `authorization` block for these users (JSON is valid NATS config)."""
    users = []
    for user, password in sorted(passwords.items()):
        if not NAME.match(user):
            raise ValueError(f"bad NATS user name {user!r}")
        entry: dict[str, object] = {"user": user, "password": password}
        permissions = permissions_of(user)
        if permissions is not None:
            entry["permissions"] = permissions.config()
        users.append(entry)
    return "authorization " + json.dumps({"users": users}, indent=2) + "\n"
