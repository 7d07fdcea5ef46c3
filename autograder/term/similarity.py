"""Pairs of submissions whose answers are unusually alike, for a person to look at.

    python -m autograder.term.similarity GRADING [--threshold 0.5] [--db URL]

For each assignment, each submitted notebook's answer cells (nbgrader's solution cells) are
compared with every other student's by copydetect's fingerprints (the winnowing algorithm
that MOSS uses, on code whose names and strings are normalised, so renaming variables or
rewording comments changes nothing). Two kinds of passages are left out first, as MOSS
leaves them out: the release's own code (the starter code every student received), and
passages that many students share (more than :func:`common_limit` of the class), which is
what short exercises solved the usual way look like. A pair is flagged when the share of
either notebook's remaining answer code found in the other reaches ``threshold``.

It flags; it never changes a grade. The class report lists the flagged pairs.
"""

import io
import itertools
import math
import sys
from collections import Counter
from dataclasses import dataclass

import numpy as np
from copydetect import CodeFingerprint, compare_files
from copydetect.defaults import GUARANTEE_THRESHOLD, NOISE_THRESHOLD

from autograder.grading import NotebookError, nbgrader_cells, read_notebook
from autograder.term.folder import command_parser, open_from_command_line

THRESHOLD = 0.5          # share of a notebook's answer code found in the other
WINDOW = GUARANTEE_THRESHOLD - NOISE_THRESHOLD + 1  # copydetect's default winnowing window


@dataclass(frozen=True)
class Pair:
    """Two students' answers to one assignment, and how much of each is in the other."""
    assignment: str
    first: str
    second: str
    first_share: float   # of first's answer code, the part also in second's
    second_share: float

    @property
    def share(self):
        return max(self.first_share, self.second_share)


def answer_code(nb):
    """The source of a notebook's answer cells (code solution cells), one after another."""
    return "\n\n".join(cell.source for cell in nbgrader_cells(nb)
                       if cell.cell_type == "code" and cell.metadata.nbgrader.get("solution"))


def starter_code(release_nb):
    """All the code a student received in the release, and its answer stubs joined as
    `answer_code` joins a student's answers (so that no passage across two stubs counts)."""
    code = [cell.source for cell in release_nb.cells if cell.cell_type == "code"]
    return "\n\n".join([*code, answer_code(release_nb)])


def fingerprint(code, boilerplate=(), window=WINDOW):
    """copydetect's fingerprint of Python ``code``, the ``boilerplate`` hashes left out."""
    return CodeFingerprint("answers.py", NOISE_THRESHOLD, window,
                           boilerplate=np.array(sorted(boilerplate), dtype=np.int64),
                           fp=io.StringIO(code))


def common_limit(students):
    """How many submissions may share a passage before it counts as the usual solution
    (MOSS's ``-m``): a tenth of the class, at least 3, so that a pair or a trio that copied
    stays visible."""
    return max(3, math.ceil(students / 10))


def similar_pairs(assignment, answers, release_nb, threshold=THRESHOLD):
    """The pairs of ``answers`` ({student: answer code}) for ``assignment`` whose shared
    share reaches ``threshold``, most alike first (the module docstring says how)."""
    starter = fingerprint(starter_code(release_nb), window=1).hashes
    prints = {s: fingerprint(code, starter) for s, code in answers.items()}
    counts = Counter(h for p in prints.values() for h in p.hashes)
    usual = {h for h, n in counts.items() if n > common_limit(len(answers))}
    if usual:
        prints = {s: fingerprint(code, starter | usual) for s, code in answers.items()}
    pairs = []
    for first, second in itertools.combinations(sorted(prints), 2):
        _, (share1, share2), _ = compare_files(prints[first], prints[second])
        pair = Pair(assignment.name, first, second, float(share1), float(share2))
        if pair.share >= threshold:
            pairs.append(pair)
    return sorted(pairs, key=lambda p: -p.share)


def submitted_answers(folder, assignment):
    """{student: answer code} of every readable notebook submitted for ``assignment``."""
    answers = {}
    for path in sorted((folder.root / "submitted").glob(f"*/{assignment.name}/{assignment.notebook}")):
        try:
            answers[path.parts[-3]] = answer_code(read_notebook(path))
        except NotebookError:
            continue  # a broken file has no answers to compare; the report names it
    return answers


def class_similarity(folder, assignments=None, threshold=THRESHOLD):
    """Flagged pairs of every assignment of ``folder`` (or of ``assignments``)."""
    pairs = []
    for assignment in assignments or folder.assignments():
        release = read_notebook(assignment.release_dir / assignment.notebook)
        pairs += similar_pairs(assignment, submitted_answers(folder, assignment), release,
                               threshold)
    return pairs


def describe_pair(pair):
    return (f"{pair.assignment}: {pair.first} and {pair.second}: {pair.first_share:.0%} of "
            f"{pair.first}'s answer code is in {pair.second}'s, {pair.second_share:.0%} the "
            "other way")


def main(argv=None):
    parser = command_parser(__doc__)
    parser.add_argument("--threshold", type=float, default=THRESHOLD,
                        help="share of answer code in common that flags a pair (%(default)s)")
    args = parser.parse_args(argv)
    folder = open_from_command_line(args)
    pairs = class_similarity(folder, threshold=args.threshold)
    print("\n".join(describe_pair(p) for p in pairs) or "no pair of submissions is unusually alike")
    return 0


if __name__ == "__main__":
    sys.exit(main())
