"""The label store's table of background training jobs (the runner is :mod:`labeling.train`)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from labeling.database import StoreDatabase, now
from labeling.records import Job
from pipeline.core.errors import InputError


class JobsMixin(StoreDatabase):
    """The job methods of :class:`labeling.store.LabelStore`: record, update and read jobs."""

    def create_job(self, kind: str, snapshot: str, command: Sequence[str], out: str, log: str) -> int:
        """Record a queued background job (its command line, model folder and log file); returns its id."""
        with self._write() as db:
            return int(db.execute("INSERT INTO jobs (kind, snapshot, status, command, out, log, started_at) VALUES"
                                  " (?, ?, 'queued', ?, ?, ?, ?)",
                                  (kind, snapshot, json.dumps(list(command)), out, log, now())).lastrowid)

    def update_job(self, job_id: int, **values) -> None:
        """Set fields of a job (status, progress, pid, returncode, finished_at, log)."""
        allowed = {"status", "progress", "pid", "returncode", "finished_at", "log"}
        if not values or set(values) - allowed:
            raise ValueError(f"job fields must be among {sorted(allowed)}")
        assignments = ", ".join(f"{key} = ?" for key in values)
        with self._write() as db:
            db.execute(f"UPDATE jobs SET {assignments} WHERE id = ?", (*values.values(), job_id))

    def jobs(self) -> list[Job]:
        """All background jobs, newest first."""
        rows = self._db.execute("SELECT id, kind, snapshot, status, progress, command, out, log, pid, returncode,"
                                " started_at, finished_at FROM jobs ORDER BY id DESC")
        return [Job(*row) for row in rows]

    def job(self, job_id: int) -> Job:
        """A job by id.

        Raises:
            InputError: no such job.
        """
        for job in self.jobs():
            if job.id == job_id:
                return job
        raise InputError(f"No job {job_id} in the label store.")
