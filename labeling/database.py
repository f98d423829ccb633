"""The label store's database: its schema and migrations, the connection, and write transactions.

:class:`StoreDatabase` is the base of :class:`labeling.store.LabelStore`: it opens (or creates) the SQLite
file, refuses a file that is not a label store or was written by a newer schema, migrates an older one in
one transaction, and gives the other parts of the store their one way to write (:meth:`StoreDatabase._write`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Self

from pipeline.core.config import get_settings
from pipeline.core.errors import InputError

DB_FILE = "labels.sqlite"
FRAMES_DIR = "frames"
SCHEMA_VERSION = 2

# One list of statements per schema version: MIGRATIONS[v] takes a store from version v to v + 1.
# Statements, not executescript(): executescript commits first, and a migration must be one transaction.
MIGRATIONS: list[list[str]] = [
    [  # 0 -> 1: clips, frames, predictions, labels, snapshots
        """CREATE TABLE clips (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            digest TEXT UNIQUE,            -- SHA-256 of the video file; NULL for a named group of images
            path TEXT,
            fps REAL,
            duration REAL,
            added_at TEXT NOT NULL)""",
        """CREATE TABLE frames (
            id INTEGER PRIMARY KEY,
            digest TEXT NOT NULL UNIQUE,   -- SHA-256 of the stored bytes
            ext TEXT NOT NULL,
            clip_id INTEGER REFERENCES clips(id),
            time REAL,
            frame_index INTEGER,
            source TEXT NOT NULL,          -- the file or dataset it came from
            split TEXT,                    -- the split its source dataset put it in, if any
            width INTEGER NOT NULL,
            height INTEGER NOT NULL,
            phash BLOB NOT NULL,           -- 256-bit difference hash, for near-duplicates
            box TEXT,                      -- fretboard box "x1 y1 x2 y2" in pixels, if known
            label_id INTEGER,              -- current label (cache of the history; see module doc)
            added_at TEXT NOT NULL)""",
        "CREATE INDEX frames_clip ON frames(clip_id, time)",
        "CREATE INDEX frames_label ON frames(label_id)",
        """CREATE TABLE predictions (
            id INTEGER PRIMARY KEY,
            frame_id INTEGER NOT NULL REFERENCES frames(id),
            model TEXT NOT NULL,
            model_version TEXT NOT NULL,
            chord TEXT NOT NULL,
            probability REAL NOT NULL,
            covered INTEGER NOT NULL DEFAULT 1,
            embedding TEXT,                -- where the frame's embedding lives (e.g. a landmark cache key)
            created_at TEXT NOT NULL,
            UNIQUE (frame_id, model, model_version))""",
        "CREATE INDEX predictions_model ON predictions(model, chord)",
        """CREATE TABLE labels (
            id INTEGER PRIMARY KEY,
            frame_id INTEGER NOT NULL REFERENCES frames(id),
            chord TEXT NOT NULL,
            author TEXT NOT NULL,
            created_at TEXT NOT NULL,
            origin TEXT NOT NULL CHECK (origin IN ('hand', 'prediction', 'import')),
            prediction_id INTEGER REFERENCES predictions(id),
            undone_at TEXT)""",
        "CREATE INDEX labels_frame ON labels(frame_id, id)",
        "CREATE INDEX labels_author ON labels(author, id)",
        """CREATE TABLE snapshots (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT '',
            n_frames INTEGER NOT NULL,
            counts TEXT NOT NULL,          -- JSON chord -> frames
            fingerprint TEXT NOT NULL)""",
        """CREATE TABLE snapshot_frames (
            snapshot_id INTEGER NOT NULL REFERENCES snapshots(id),
            frame_id INTEGER NOT NULL REFERENCES frames(id),
            chord TEXT NOT NULL,
            label_id INTEGER NOT NULL,
            PRIMARY KEY (snapshot_id, frame_id)) WITHOUT ROWID""",
        *(
            f"CREATE TRIGGER {table}_immutable_{op.lower()} BEFORE {op} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'snapshots are immutable'); END"
            for table in ("snapshots", "snapshot_frames")
            for op in ("UPDATE", "DELETE")
        ),
    ],
    [  # 1 -> 2: background jobs
        """CREATE TABLE jobs (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            snapshot TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
            progress TEXT NOT NULL DEFAULT '',
            command TEXT NOT NULL,         -- JSON list: the training command line
            out TEXT NOT NULL,
            log TEXT NOT NULL,
            pid INTEGER,
            returncode INTEGER,
            started_at TEXT NOT NULL,
            finished_at TEXT)""",
    ],
]
assert len(MIGRATIONS) == SCHEMA_VERSION


def now() -> str:
    """The current UTC time as ISO 8601 with microseconds (sorts as text)."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


# What SQLite's error names mean for a person: the store is fine, the place it lives in is not.
_ENVIRONMENT = {
    "SQLITE_READONLY": "cannot be written: the folder or file is read-only (permission denied)",
    "SQLITE_CANTOPEN": "cannot be opened: the folder or file is missing or not writable (permission denied)",
    "SQLITE_PERM": "cannot be written: permission denied",
    "SQLITE_AUTH": "cannot be written: permission denied",
    "SQLITE_FULL": "cannot be written: the disk is full",
    "SQLITE_BUSY": "is locked by another process (try again when it is done)",
    "SQLITE_LOCKED": "is locked by another process (try again when it is done)",
    "SQLITE_IOERR": "cannot be read or written: the disk reported an I/O error",
}
_DAMAGED = ("SQLITE_CORRUPT", "SQLITE_NOTADB")


def environment_problem(error: sqlite3.Error) -> str | None:
    """What is wrong around the store (read-only, full disk, locked, I/O) for an SQLite error, or None when
    the error says nothing about its surroundings (a damaged file, a bug)."""
    name = str(getattr(error, "sqlite_errorname", "") or "")
    for prefix, meaning in _ENVIRONMENT.items():
        if name == prefix or name.startswith(prefix + "_"):  # extended codes: SQLITE_READONLY_DBMOVED, ...
            return meaning
    return None


def store_error(error: BaseException, path: Path) -> InputError:
    """A one-line :class:`InputError` for an OSError or SQLite error met opening or writing the store at
    ``path``: what is wrong (permission denied, disk full, locked, damaged), never "delete it"."""
    if isinstance(error, InputError):
        return error
    if isinstance(error, OSError):
        reason = error.strerror or str(error)
        where = error.filename or path
        return InputError(f"The label store at {path.parent} cannot be used: {where}: {reason}. Nothing was changed.")
    if isinstance(error, sqlite3.Error):
        meaning = environment_problem(error)
        if meaning is not None:
            return InputError(f"The label store {path} {meaning} ({error}). Nothing was changed.")
        name = str(getattr(error, "sqlite_errorname", "") or "")
        if name.startswith(_DAMAGED) or type(error) is sqlite3.DatabaseError:
            return InputError(f"{path} is not a label store or is damaged ({error}); it was left as it is. "
                              "Restore it from a backup, or point to another data directory.")
    return InputError(f"The label store {path} failed: {type(error).__name__}: {error}.")


def check_length(path: Path, header: bytes) -> None:
    """Refuse an SQLite file cut short (a copy or a download that stopped): its header says how many pages
    it holds, and the file is shorter.

    Raises:
        InputError: the file is shorter than its header says; it is left as it is.
    """
    if not header:
        return  # an empty file: a store about to be created
    size = path.stat().st_size
    if len(header) < 100:
        expected = 100
    else:
        page_size = int.from_bytes(header[16:18], "big")
        page_size = 65536 if page_size == 1 else page_size
        pages = int.from_bytes(header[28:32], "big")
        # the page count is valid when "version-valid-for" matches the change counter (SQLite file format 1.3.4)
        expected = page_size * pages if header[92:96] == header[24:28] else 0
    if size < expected:
        raise InputError(f"{path} is not a label store or is damaged: the file is cut short ({size} of {expected} "
                         "bytes); it was left as it is. Restore it from a backup, or point to another data directory.")


class StoreDatabase:
    """An open label store database: connection, schema version, migrations and write transactions.

    Args:
        root: the store folder (created if missing); default the configured data dir.
        durable: fsync on every commit (``synchronous=FULL``) and every frame file; slower, survives
            power cuts as well as killed processes.
        timeout: seconds a writer waits for another process's transaction.

    Raises:
        InputError: the database is not a label store (or is damaged), was written by a newer schema, or
            its folder cannot be used (read-only, disk full, locked): the message says which.
    """

    def __init__(self, root: str | Path | None = None, *, durable: bool = False, timeout: float = 60.0) -> None:
        self.root = Path(root) if root is not None else get_settings().data_dir
        self.durable = durable
        self.db_path = self.root / DB_FILE
        if self.root.exists() and not self.root.is_dir():
            raise InputError(f"{self.root} is a file; a label store is a folder. Choose another data directory.")
        try:
            if self.db_path.exists():
                with open(self.db_path, "rb") as handle:
                    header = handle.read(100)
                if header[:16] not in (b"SQLite format 3\x00", b""):
                    raise InputError(f"{self.db_path} is not a label store (not an SQLite database).")
                check_length(self.db_path, header)
            self.root.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: no implicit transactions; every write below opens its own.
            self._db = sqlite3.connect(self.db_path, timeout=timeout, isolation_level=None)
        except (OSError, sqlite3.Error) as error:
            raise store_error(error, self.db_path) from error
        try:
            self._check_version(self._version())
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except BaseException as error:
            self._db.close()
            if isinstance(error, (OSError, sqlite3.DatabaseError)) and not isinstance(error, InputError):
                raise store_error(error, self.db_path) from error
            raise

    # -- schema ----------------------------------------------------------------------------------

    def _version(self) -> int:
        try:
            return int(self._db.execute("PRAGMA user_version").fetchone()[0])
        except sqlite3.DatabaseError as error:
            raise store_error(error, self.db_path) from error

    def _check_version(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise InputError(
                f"{self.db_path} was written by a newer version of the studio (schema {version}; this one reads "
                f"up to {SCHEMA_VERSION}); upgrade the studio to open it. Nothing was changed."
            )

    def _migrate(self) -> None:
        if self._version() == SCHEMA_VERSION:
            return
        with self._write():
            version = self._version()  # another process may have migrated while we waited
            self._check_version(version)
            for target in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[target]:
                    self._db.execute(statement)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    @property
    def schema_version(self) -> int:
        """The schema version of the open store."""
        return self._version()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; the write lock is taken up front so writers queue, never deadlock."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            raise store_error(error, self.db_path) from error
        try:
            yield self._db
        except BaseException as error:
            if self._db.in_transaction:  # SQLite rolls back by itself after some errors (a full disk)
                self._db.execute("ROLLBACK")
            if isinstance(error, sqlite3.OperationalError) and environment_problem(error):
                raise store_error(error, self.db_path) from error
            raise
        try:
            self._db.execute("COMMIT")
        except sqlite3.OperationalError as error:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise store_error(error, self.db_path) from error

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` ("ok" for a sound database)."""
        return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])

    def query(self, sql: str, args: Sequence = ()) -> sqlite3.Cursor:
        """Run a read-only query (the review queue, tests); iterate the cursor for its rows."""
        return self._db.execute(sql, args)
