"""The quick start of docs/python.md runs and prints what the page says."""

import docblocks


def test_quick_start_blocks(tmp_path):
    runnable = [(c, o) for c, o in docblocks.blocks() if "distributed" not in c]
    assert len(runnable) >= 2
    for code, expected in runnable:        # in page order, in one directory
        out = docblocks.run(code, tmp_path)
        if expected is not None:
            docblocks.same_output(out, expected)
