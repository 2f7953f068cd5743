"""Imported first by every workflow script: puts the repo on sys.path and sends output to the rule's log."""
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def first(files):
    """A named Snakemake input that may be a single path, a one-element list or empty -> a path or None."""
    return files if isinstance(files, str) else (files[0] if len(files) else None)


@contextmanager
def logged(smk):
    """Tee stderr/stdout into the rule's log file (appending, so a resumed job keeps the earlier attempt's lines)."""
    if not smk.log:
        yield
        return
    Path(smk.log[0]).parent.mkdir(parents=True, exist_ok=True)
    with open(smk.log[0], "a") as f:
        class Tee:
            def __init__(self, *streams):
                self.streams = streams

            def write(self, s):
                for st in self.streams:
                    st.write(s)
                    st.flush()

            def flush(self):
                for st in self.streams:
                    st.flush()

            def isatty(self):
                return False

        old = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = Tee(old[0], f), Tee(old[1], f)
        try:
            yield
        except BaseException:  # the error goes to the rule's log too, not only to the job's stderr
            traceback.print_exc()
            raise
        finally:
            sys.stdout, sys.stderr = old
