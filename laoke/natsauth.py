"""Who may connect to NATS and publish where: users, passwords and permissions.

- each dealership's systems (`dealer-<id>`): publish only `dealer.in.<id>.>`;
- each service (`laoke-<service>`): publish only the RETENTION subjects of the event types it
  records (intake: the inbound types and CustomersMerged; complaints: its decisions; ...),
  its own dead letters `dlq.<service>.>`, the customers' data keys (the `laoke_keys` bucket),
  and the JetStream API it needs (never stream delete or purge);
- `laoke-admin`: everything (ops tools, `laoke rebuild`, the simulator);
- nobody else connects: the server has no anonymous user.

A dealership subscribes only to its own inbox prefix `_INBOX.dealer-<id>.>` (it connects
with that `inbox_prefix`), so it cannot listen in on other clients' replies or deliveries.
Passwords are generated into `<data_dir>/nats-credentials.json` (mode 0600) on first use;
`laoke dealerships add|remove` (laoke/dealerships.py) changes that file while laoke runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from events import INBOUND_TYPES
from events.fields import DEALERSHIP_ID_PATTERN
from laoke.streams import DEALER_IN, KEYS, LEASES, RETENTION

ADMIN = "laoke-admin"
NAME = re.compile(r"^[a-z0-9-]{1,64}$")
DEALERSHIP_ID = re.compile(DEALERSHIP_ID_PATTERN)

# The recorded-only types each service decides (events/recorded.py); intake records the rest.
SERVICE_DECISIONS: dict[str, tuple[str, ...]] = {
    "intake": (
        "CustomerErased",
        "CustomersMerged",
        "CustomersUnmerged",
        "VehicleOwnershipChanged",
        *sorted(INBOUND_TYPES),
    ),
    "complaints": (
        "ApologyOverdue",
        "ComplaintClosed",
        "ComplaintClockSet",
        "ComplaintEscalated",
        "ComplaintReopened",
        "ComplaintResolved",
        "ComplaintStepRejected",
        "ContactRequested",
        "RemedyRefused",
    ),
    "outreach": (
        "FollowUpAnswered",
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
# projections deletes an erased customer's dead letters (deadletters/erasure.py): from
# RETENTION_DLQ only.
PROJECTIONS_DENY = [
    "$JS.API.STREAM.DELETE.>",
    "$JS.API.STREAM.PURGE.>",
    *(
        f"$JS.API.STREAM.MSG.DELETE.{s}"
        for s in (DEALER_IN, RETENTION, f"KV_{KEYS}", f"KV_{LEASES}")
    ),
]


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
    publish.append(f"$KV.{KEYS}.>")  # customers' data keys (laoke/keyring.py)
    if service == "intake":
        publish.append("dealer.in.>")  # forwards HTTP events to the replica of their partition
    # nats-py's JetStream pull subscriptions use `_INBOX.` whatever the connection's prefix,
    # so services (our own code) subscribe to all inboxes; dealerships never can.
    deny = PROJECTIONS_DENY if service == "projections" else JS_API_DENY
    return Permissions(publish, ["_INBOX.>"], tuple(deny))


def dealer_permissions(dealership_id: str) -> Permissions:
    user = dealer_user(dealership_id)
    return Permissions([f"dealer.in.{dealership_id}.>"], [f"{inbox_prefix(user)}.>"])


@dataclass
class Credentials:
    """Passwords by user name, and the dealerships removed (by id, with when), saved as JSON
    beside the data: the one list of NATS users that `laoke run` and `laoke dealerships`
    read. `LAOKE_NATS_DEALERSHIPS` seeds it at each start, except dealerships removed since."""

    path: Path
    passwords: dict[str, str]
    removed: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Credentials:
        if not path.exists():
            return cls(path, {})
        saved = json.loads(path.read_text())
        return cls(path, dict(saved["passwords"]), dict(saved.get("removed", {})))

    @classmethod
    def load_or_create(cls, path: Path, services: list[str], dealerships: list[str]) -> Credentials:
        with editing(path) as creds:
            for user in (ADMIN, *(service_user(s) for s in services)):
                creds.passwords.setdefault(user, new_password())
            for dealership in dealerships:
                if dealership not in creds.removed:
                    creds.passwords.setdefault(dealer_user(dealership), new_password())
        return creds

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump({"passwords": self.passwords, "removed": self.removed}, out, indent=2)
        os.replace(tmp, self.path)

    def password(self, user: str) -> str:
        return self.passwords[user]

    def dealerships(self) -> list[str]:
        prefix = dealer_user("")
        return sorted(u.removeprefix(prefix) for u in self.passwords if u.startswith(prefix))

    def add_dealership(self, dealership_id: str) -> str:
        """A new user for the dealership; its password. Refused if it has one."""
        user = dealer_user(check_dealership_id(dealership_id))
        if user in self.passwords:
            raise ValueError(f"dealership {dealership_id!r} has a NATS user already")
        self.passwords[user] = new_password()
        self.removed.pop(dealership_id, None)
        return self.passwords[user]

    def remove_dealership(self, dealership_id: str, when: str) -> None:
        if self.passwords.pop(dealer_user(dealership_id), None) is None:
            raise ValueError(f"dealership {dealership_id!r} has no NATS user")
        self.removed[dealership_id] = when


def new_password() -> str:
    return secrets.token_urlsafe(24)


def check_dealership_id(dealership_id: str) -> str:
    """A dealership id that makes a valid user name and subject token."""
    if not DEALERSHIP_ID.match(dealership_id) or not NAME.match(dealer_user(dealership_id)):
        raise ValueError(
            f"bad dealership id {dealership_id!r}: lower-case letters, digits and '-', "
            f"at most {64 - len(dealer_user(''))} characters"
        )
    return dealership_id


@contextlib.contextmanager
def editing(path: Path) -> Iterator[Credentials]:
    """The credentials file, loaded under an exclusive lock (`laoke run` starting and
    `laoke dealerships` may edit it at once) and saved when the block ends without error."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        creds = Credentials.load(path)
        before = (dict(creds.passwords), dict(creds.removed))
        yield creds
        if (creds.passwords, creds.removed) != before or not path.exists():
            creds.save()


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
