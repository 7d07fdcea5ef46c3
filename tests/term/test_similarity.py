"""Similarity: a disguised copy is flagged, answers written independently and the untouched
release are not, and a solution most of the class writes the same way is not evidence."""

import pytest

from autograder.term import similarity

from .conftest import Work

SOFTMAX = {
    "usual": """def softmax(z):
    shifted = z - np.max(z, axis=0, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=0, keepdims=True)""",
    "attributes": """def softmax(z):
    z = np.array(z, dtype=float)
    top = z.max(axis=0)
    exps = np.exp(z - top)
    total = exps.sum(axis=0)
    return exps / total""",
    "scipy": """def softmax(z):
    from scipy.special import softmax as reference
    return reference(z, axis=0)""",
    "terse": """def softmax(z):
    a = np.exp(z - z.max(0))
    return a / a.sum(0)""",
}
ONE_HOT = {
    "indexing": """def one_hot(indices, depth):
    indices = np.asarray(indices, dtype=int)
    encoded = np.zeros((depth, indices.size))
    encoded[indices, np.arange(indices.size)] = 1.0
    return encoded""",
    # the same, names changed and a comment added: what copying and disguising looks like
    "indexing-disguised": """def one_hot(indices, depth):
    # one column per index
    idx = np.asarray(indices, dtype=int)
    out = np.zeros((depth, idx.size))
    out[idx, np.arange(idx.size)] = 1.0
    return out""",
    "loop": """def one_hot(indices, depth):
    result = np.zeros((depth, len(indices)))
    for t, i in enumerate(indices):
        result[i, t] = 1
    return result""",
    "eye": """def one_hot(indices, depth):
    return np.eye(depth)[:, list(indices)]""",
    "stack": """def one_hot(indices, depth):
    cols = []
    for k in indices:
        col = np.zeros(depth)
        col[k] = 1.0
        cols.append(col)
    return np.stack(cols, axis=1)""",
}


def work(student, softmax, one_hot):
    return Work(student, answers={"softmax": SOFTMAX[softmax], "one_hot": ONE_HOT[one_hot]})


def test_a_disguised_copy_is_flagged_and_independent_work_is_not(grading_folder):
    folder = grading_folder([work("ann", "usual", "indexing"), work("ben", "usual", "indexing-disguised"),
                             work("cat", "attributes", "loop"), work("dan", "scipy", "eye"),
                             work("eve", "terse", "stack"), Work("fay")],  # fay: untouched
                            ["ann", "ben", "cat", "dan", "eve", "fay"])
    [pair] = similarity.class_similarity(folder)
    assert (pair.first, pair.second) == ("ann", "ben") and pair.share == pytest.approx(1.0)
    assert similarity.describe_pair(pair) == (
        "00_setup: ann and ben: 100% of ann's answer code is in ben's, 100% the other way")


def test_the_release_and_the_usual_solution_are_left_out(grading_folder, monkeypatch):
    """Five students write the usual softmax; two of them share an unusual one_hot."""
    folder = grading_folder([work("ann", "usual", "loop"), work("ben", "usual", "loop"),
                             work("cat", "usual", "eye"), work("dan", "usual", "stack"),
                             work("eve", "usual", "indexing"), Work("fay"), Work("gus")],
                            ["ann", "ben", "cat", "dan", "eve", "fay", "gus"])
    pairs = similarity.class_similarity(folder)
    assert [(p.first, p.second) for p in pairs] == [("ann", "ben")], \
        "only the shared one_hot counts: the softmax all five wrote is the usual solution"
    monkeypatch.setattr(similarity, "common_limit", lambda students: students)
    assert len(similarity.class_similarity(folder)) > 1, \
        "counting the usual softmax would flag students who only share it"


def test_command_line_prints_the_pairs(grading_folder, capsys):
    folder = grading_folder([work("ann", "usual", "indexing"), work("ben", "usual", "indexing-disguised")],
                            ["ann", "ben"])
    assert similarity.main([str(folder.root)]) == 0
    assert "00_setup: ann and ben: 100%" in capsys.readouterr().out
