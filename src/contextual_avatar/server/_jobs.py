"""Upload jobs: a document's ingest runs in the background and reports its progress.

Transcribing an hour of video takes minutes, longer than a client should hold a request
open, so an upload answers with a job at once and ``GET /api/jobs/{id}`` tells how far
it is (stage ``read``, ``transcribe`` or ``embed``, done of total). A job belongs to the
key that started it: another key gets a 404, as if it did not exist.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from contextual_avatar import AsyncContextEngine, ContextualAvatarError, IngestReport
from contextual_avatar.server._errors import ApiError, library_status

__all__ = ["Job", "Jobs", "report_json"]

log = logging.getLogger("contextual_avatar.server")
State = Literal["running", "done", "failed"]


def report_json(report: IngestReport, name: str) -> dict[str, Any]:
    """An ingest report as JSON, named as uploaded."""
    return {
        "name": name,
        "kind": report.kind,
        "segments": report.segments,
        "chunks": report.chunks,
        "tokens": report.tokens,
        "unchanged": report.unchanged,
        "seconds": round(report.seconds, 3),
    }


@dataclass(slots=True)
class Job:
    """One upload's ingest."""

    id: str
    owner: str
    name: str
    collection: str
    state: State = "running"
    stage: str = "queued"
    done: float = 0.0
    total: float = 0.0
    report: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    started: float = field(default_factory=time.time)
    finished: float | None = None
    task: asyncio.Task[None] | None = None

    def progress(self, stage: str, done: float, total: float) -> None:
        """The engine's progress callback (may be called from a worker thread)."""
        self.stage, self.done, self.total = stage, float(done), float(total)

    def json(self) -> dict[str, Any]:
        """The job as the API shows it."""
        return {
            "id": self.id,
            "name": self.name,
            "collection": self.collection,
            "state": self.state,
            "stage": self.stage,
            "done": self.done,
            "total": self.total,
            "report": self.report,
            "error": self.error,
            "started": self.started,
            "finished": self.finished,
        }


class Jobs:
    """The server's upload jobs: the running ones and the last ``keep`` finished."""

    def __init__(self, engine: AsyncContextEngine, *, keep: int) -> None:
        """Run jobs against ``engine``."""
        self._engine = engine
        self._keep = keep
        self._jobs: OrderedDict[str, Job] = OrderedDict()

    def start(
        self, owner: str, name: str, collection: str, target: Path, backup: Path | None
    ) -> Job:
        """Ingest ``target`` (already in place) in the background.

        Args:
            owner: The caller's key name.
            name: The document's name as uploaded.
            collection: Where it goes.
            target: The uploaded file, in place.
            backup: The file it replaced, restored if the ingest fails.
        """
        job = Job(uuid.uuid4().hex, owner, name, collection)
        job.task = asyncio.create_task(self._run(job, target, backup))
        self._jobs[job.id] = job
        self._trim()
        return job

    def get(self, owner: str, job_id: str) -> Job:
        """The caller's job.

        Raises:
            ApiError: 404 for a job that does not exist or is another key's.
        """
        job = self._jobs.get(job_id)
        if job is None or job.owner != owner:
            raise ApiError(404, "no such job", code="not_found")
        return job

    async def wait(self, job: Job) -> Job:
        """Wait for ``job`` to finish (its client may hang up; the job goes on)."""
        if job.task is not None:
            await asyncio.shield(job.task)
        return job

    async def _run(self, job: Job, target: Path, backup: Path | None) -> None:
        try:
            report = await self._engine.ingest(
                target, collection=job.collection, progress=job.progress
            )
        except asyncio.CancelledError:
            await asyncio.to_thread(_restore, target, backup)
            job.error = {"status": 503, "message": "the server stopped", "code": None}
            job.state = "failed"
            raise
        except (ContextualAvatarError, ApiError) as exc:
            await asyncio.to_thread(_restore, target, backup)
            status = exc.status if isinstance(exc, ApiError) else library_status(exc)
            message = str(exc) if status < 500 else "ingest failed; the server log has the details"
            if status >= 500:
                log.warning("ingest of an upload failed: %s", exc)
            job.error = {"status": status, "message": message, "code": type(exc).__name__}
            job.state = "failed"
        except Exception:
            await asyncio.to_thread(_restore, target, backup)
            log.exception("ingest of an upload failed")
            job.error = {"status": 500, "message": "internal error", "code": None}
            job.state = "failed"
        else:
            if backup is not None:
                await asyncio.to_thread(backup.unlink, missing_ok=True)
            job.report = report_json(report, job.name)
            job.stage = "done"
            job.state = "done"
        finally:
            job.finished = time.time()
            self._trim()

    def _trim(self) -> None:
        finished = [k for k, j in self._jobs.items() if j.state != "running"]
        for key in finished[: max(0, len(finished) - self._keep)]:
            del self._jobs[key]

    async def aclose(self) -> None:
        """Cancel jobs still running (shutdown); their files are restored."""
        running = [j.task for j in self._jobs.values() if j.task is not None and not j.task.done()]
        for task in running:
            task.cancel()
        for task in running:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _restore(target: Path, backup: Path | None) -> None:
    """Put back the file an upload replaced, after its ingest failed."""
    target.unlink(missing_ok=True)
    if backup is not None:
        backup.replace(target)
