"""docs/counts.json and the sentences that state its counts (``ganrepro.tools.counts``); the DAG's counts are checked
against the file by the dry-run tests (tests/workflow/) and the smoke pipeline's by its end-to-end test."""
import pytest

from conftest import counts
from ganrepro.tools import counts as K


def test_config_and_cost_counts_are_the_files():
    n = counts()
    assert {k: n[k] for k in K.config_counts()} == K.config_counts()
    assert {k: n[k] for k in K.cost_counts()} == K.cost_counts()


def test_every_sentence_is_stated_and_current():
    assert K.stale_docs(counts()) == []


def test_rewrite_changes_only_the_numbers_and_keeps_the_line_breaks():
    text = ("It runs 3 jobs (2 tiny training runs, of which BRC's 1 mixture runs train and\nevaluate in one job "
            "each; 9 curves over training). Then: holds 1 downloads, 2 verifies and 3 prepares: x")
    n = {"smoke_jobs": 329, "smoke_runs": 147, "smoke_mog_runs": 55, "smoke_curves": 37, "full_downloads": 8,
         "full_verifies": 8, "full_prepares": 10}
    out = K.rewrite(text, n)
    assert out == ("It runs 329 jobs (147 tiny training runs, of which BRC's 55 mixture runs train and\nevaluate in "
                   "one job each; 37 curves over training). Then: holds 8 downloads, 8 verifies and 10 prepares: x")
    assert K.rewrite(out, n) == out


@pytest.mark.parametrize("key", ["smoke_jobs", "full_runs", "cost_cpu_hours"])
def test_a_changed_count_makes_the_documents_stale(key):
    n = dict(counts())
    n[key] = n[key] + 1
    assert K.stale_docs(n)
