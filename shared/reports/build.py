"""Walk a backup set (or two) and stream the report into its blob (DESIGN §14).

One pass, bounded memory: items are taken a window at a time (:data:`WINDOW` snapshot
documents read at once), each object is described and written, and only counters (the
glance, the table of contents) and the per-run definition cache outlive it. The head is
rendered at the end and stored first (:mod:`.store`).

A documentation report lists every object of the set by type, in catalog order. A change
report (``compare_to``) pairs the two sets' items as a drift check pairs live objects with
a baseline (:func:`shared.drift.compare.match_objects`: by id, else by a unique name);
a pair with the same content digest is unchanged without reading either blob; the others
are described and compared setting by setting. ``changed_by`` comes from the drift checks
that recorded it (:func:`attributions`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from shared.backups.sets import BackupItem, BackupSet, BackupSetStore
from shared.backups.snapshots import SnapshotStore
from shared.backups.tenant_keys import TenantKeys
from shared.drift.compare import kind_of, match_objects, name_candidates
from shared.graph.catalog import BY_KEY, SUPPORTED_KEYS
from shared.graph.client import GraphClient
from shared.graph.secrets import redact
from shared.platform.concurrency import bounded
from shared.platform.errors import NotFound
from shared.platform.keys import parse_iso
from shared.platform.storage import Storage
from shared.reports import html, markdown
from shared.reports.changes import ObjectChange, compare
from shared.reports.definitions import DefinitionCache, definition_ids
from shared.reports.describe import Described, describe
from shared.reports.model import Glance, ReportMeta, SetInfo, TocEntry
from shared.reports.names import Names
from shared.reports.store import ReportStore, ReportWriter
from shared.runs.model import RunType
from shared.runs.store import RunStore
from shared.tenants.store import TenantStore

WINDOW = 16  # snapshot documents read (and held) at once
DRIFT_RUNS_CONSULTED = 20  # the newest drift checks a change report takes changed_by from
T = TypeVar("T")


class Renderer(Protocol):
    media_type: str
    extension: str

    def head(self, meta: ReportMeta, glance: Glance, toc: list[TocEntry]) -> str: ...
    def type_start(self, entry: TocEntry) -> str: ...
    def type_end(self) -> str: ...
    def obj(self, d: Described) -> str: ...
    def change(self, c: ObjectChange) -> str: ...
    def unchanged(self, count: int) -> str: ...
    def end(self) -> str: ...


FORMATS: dict[str, type[Renderer]] = {"html": html.HtmlRenderer,
                                      "markdown": markdown.MarkdownRenderer}


def extension_of(fmt: str) -> str:
    return FORMATS[fmt].extension


def media_type_of(fmt: str) -> str:
    return FORMATS[fmt].media_type


@dataclass(frozen=True)
class ReportJob:
    tenant_id: str
    run_id: str
    backup_set_id: str
    format: str
    generated_at: str
    compare_to: str | None = None


@dataclass(frozen=True)
class Built:
    objects: int  # objects described (documentation) or changes listed (change report)
    bytes: int
    definitions_read: int


class _Walk:
    def __init__(self, storage: Storage, client: GraphClient, job: ReportJob,
                 writer: ReportWriter, renderer: Renderer, names: Names,
                 keys: TenantKeys | None) -> None:
        self.storage, self.job, self.writer, self.renderer = storage, job, writer, renderer
        self.names = names
        self.snapshots = SnapshotStore(storage, keys)
        self.definitions = DefinitionCache(client, job.tenant_id)
        self.glance = Glance()

    async def described(self, items: Sequence[BackupItem]) -> list[Described]:
        """The items' documents, masked and described (definitions read as needed)."""
        documents = await bounded(WINDOW, [self.snapshots.get(i.blob_path, tenant_id=self.job
                                                               .tenant_id) for i in items])
        out = []
        for item, document in zip(items, documents, strict=True):
            rtype = BY_KEY.get(item.policy_type)
            if rtype is None:
                continue
            masked = redact(rtype, document)
            await self.definitions.resolve(definition_ids(
                [masked.get("settings"), masked.get("settingInstance")]))
            out.append(describe(rtype, masked, self.names, self.definitions,
                                fallback_name=item.display_name))
        return out

    async def kinds(self, items: Sequence[BackupItem]) -> dict[str, str]:
        """The items' ``@odata.type`` by policy id (a name pairs only within one kind)."""
        documents = await bounded(WINDOW, [self.snapshots.get(i.blob_path, tenant_id=self.job
                                                               .tenant_id) for i in items])
        return {i.policy_id: kind_of(d) for i, d in zip(items, documents, strict=True)}

    def notes(self) -> list[str]:
        if not self.definitions.unresolved:
            return []
        return [f"{self.definitions.unresolved} settings catalog definitions could not be "
                "read from Microsoft Graph; their ids are shown instead of their names."]


async def build_report(storage: Storage, client: GraphClient, job: ReportJob, *,
                       keys: TenantKeys | None = None) -> Built:
    """Render ``job``'s report into its blob; ``keys``: the tenant keys (default: from
    configuration)."""
    sets = BackupSetStore(storage)
    new_set = await _set(sets, job.tenant_id, job.backup_set_id)
    old_set = await _set(sets, job.tenant_id, job.compare_to) if job.compare_to else None
    new_items = await sets.items(new_set.backup_set_id)
    old_items = await sets.items(old_set.backup_set_id) if old_set else []
    tenant = await TenantStore(storage).get(job.tenant_id)
    names = Names.of([*old_items, *new_items])  # the newer name wins
    renderer = FORMATS[job.format]()
    writer = await ReportStore(storage, keys).writer(job.tenant_id, job.run_id,
                                                     renderer.extension)
    walk = _Walk(storage, client, job, writer, renderer, names, keys)
    meta = ReportMeta(tenant_id=job.tenant_id,
                      tenant_name=tenant.display_name if tenant else job.tenant_id,
                      backup_set=_info(new_set), generated_at=job.generated_at,
                      compare_to=_info(old_set) if old_set else None)
    if old_set is None:
        toc, listed = await _document(walk, new_items)
    else:
        toc, listed, unchanged = await _changes(walk, old_set, new_set, old_items, new_items)
        meta.notes.append(f"{unchanged} unchanged objects are counted, not listed.")
    await writer.write(renderer.end())
    meta.notes += walk.notes()
    size = await writer.finish(renderer.head(meta, walk.glance, toc))
    return Built(objects=listed, bytes=size, definitions_read=walk.definitions.reads)


async def _document(walk: _Walk, items: list[BackupItem]) -> tuple[list[TocEntry], int]:
    toc = []
    for policy_type, of_type in _by_type(items):
        entry = TocEntry(policy_type, count=len(of_type))
        toc.append(entry)
        await walk.writer.write(walk.renderer.type_start(entry))
        for window in _windows(sorted(of_type, key=lambda i: (i.display_name.lower(),
                                                              i.policy_id))):
            for described in await walk.described(window):
                walk.glance.add(described)
                await walk.writer.write(walk.renderer.obj(described))
        await walk.writer.write(walk.renderer.type_end())
    return toc, walk.glance.objects


async def _changes(walk: _Walk, old_set: BackupSet, new_set: BackupSet,
                   old_items: list[BackupItem], new_items: list[BackupItem]
                   ) -> tuple[list[TocEntry], int, int]:
    who = await attributions(walk.storage, walk.job.tenant_id, old_set, new_set)
    olds = dict(_by_type(old_items))
    news = dict(_by_type(new_items))
    walk.glance.per_type.update({t: len(i) for t, i in news.items()})
    toc: list[TocEntry] = []
    listed = unchanged_total = 0
    for policy_type in _ordered({*olds, *news}):
        rtype = BY_KEY.get(policy_type)
        by_name = not (rtype and rtype.singleton)
        old_of, new_of = olds.get(policy_type, []), news.get(policy_type, [])
        named_old, named_new = name_candidates(old_of, new_of) if by_name else ([], [])
        kinds = await walk.kinds([*named_old, *named_new])
        matching = match_objects(old_of, new_of, by_name=by_name, kinds=kinds)
        entry = TocEntry(policy_type, count=len(news.get(policy_type, [])))
        changes: list[ObjectChange] = []
        differing = [(o, n) for o, n in matching.pairs if o.sha256 != n.sha256]
        entry.unchanged = len(matching.pairs) - len(differing)
        for window in _windows(differing):
            before = await walk.described([o for o, _ in window])
            after = await walk.described([n for _, n in window])
            for old, new in zip(before, after, strict=True):
                found = compare(old, new)
                if found is None:
                    entry.unchanged += 1
                else:
                    changes.append(found)
        changes += [ObjectChange("added", policy_type, n.policy_id, n.display_name)
                    for n in matching.added]
        changes += [ObjectChange("removed", policy_type, o.policy_id, o.display_name)
                    for o in matching.removed]
        unchanged_total += entry.unchanged
        if not changes:
            continue
        for change in changes:
            change.changed_by = who.get((policy_type, change.policy_id))
        entry.added = sum(c.change == "added" for c in changes)
        entry.removed = sum(c.change == "removed" for c in changes)
        entry.changed = sum(c.change == "changed" for c in changes)
        toc.append(entry)
        await walk.writer.write(walk.renderer.type_start(entry))
        order = {"changed": 0, "added": 1, "removed": 2}
        for change in sorted(changes, key=lambda c: (order[c.change], c.name.lower())):
            await walk.writer.write(walk.renderer.change(change))
        await walk.writer.write(walk.renderer.unchanged(entry.unchanged))
        await walk.writer.write(walk.renderer.type_end())
        listed += len(changes)
    if not toc:
        await walk.writer.write(walk.renderer.unchanged(unchanged_total))
    return toc, listed, unchanged_total


async def attributions(storage: Storage, tenant_id: str, old_set: BackupSet,
                       new_set: BackupSet) -> dict[tuple[str, str], dict[str, Any]]:
    """``(policy_type, policy_id)`` → ``changed_by`` as the tenant's drift checks recorded it
    (DESIGN §10), from checks that compared with either set or ran between the two; the
    newest check that explains an object wins. Only an event between the two sets explains a
    change the report shows: a drift check names the newest event since its baseline, which
    may be a later change than the newer set holds (naming its author would be wrong)."""
    first, last = sorted((old_set.created_at, new_set.created_at))
    since, until = parse_iso(first), parse_iso(last)
    runs = RunStore(storage)
    page = await runs.list(tenant_id, top=DRIFT_RUNS_CONSULTED,
                           run_type=RunType.DRIFT_CHECK.value)
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for run in page.value:  # newest first
        if run.backup_set_id not in (old_set.backup_set_id, new_set.backup_set_id) and not (
                first <= run.created_at <= last):
            continue
        for item in await runs.all_items(run.run_id):
            if item.changed_by and _between(item.changed_by, since, until):
                baseline_id = item.item_id.removeprefix(f"{item.policy_type}.")
                for policy_id in (item.policy_id, baseline_id):
                    found.setdefault((item.policy_type, policy_id), item.changed_by)
    return found


def _between(changed_by: dict[str, Any], since: datetime, until: datetime) -> bool:
    try:
        at = parse_iso(str(changed_by.get("at") or ""))
    except ValueError:
        return False
    return since <= at <= until


async def _set(sets: BackupSetStore, tenant_id: str, backup_set_id: str) -> BackupSet:
    found = await sets.get(tenant_id, backup_set_id)
    if found is None:
        raise NotFound(f"backup set {backup_set_id} is not a set of this tenant")
    return found


def _info(backup_set: BackupSet) -> SetInfo:
    return SetInfo(backup_set.backup_set_id, backup_set.created_at, backup_set.label)


def _ordered(types: Iterable[str]) -> list[str]:
    """Catalog order, then any type the catalog no longer has."""
    present = set(types)
    return [k for k in SUPPORTED_KEYS if k in present] + sorted(present - set(SUPPORTED_KEYS))


def _by_type(items: Iterable[BackupItem]) -> list[tuple[str, list[BackupItem]]]:
    grouped: dict[str, list[BackupItem]] = defaultdict(list)
    for item in items:
        grouped[item.policy_type].append(item)
    return [(t, grouped[t]) for t in _ordered(grouped)]


def _windows(items: Sequence[T]) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), WINDOW):
        yield items[start:start + WINDOW]


__all__ = ["FORMATS", "Built", "ReportJob", "attributions", "build_report", "extension_of",
           "media_type_of"]
