"""Hand grading: the Formgrader on a collected class, then its scores everywhere.

    python -m autograder.term.handgrading GRADING --roster roster.csv [--db URL]
                                          [--port 8888] [--extensions FILE]

starts JupyterLab in the grading folder and prints the Formgrader's address (open it, or
JupyterLab's Nbgrader menu, Formgrader): under Manage Submissions, each written answer
(nbgrader's manually graded cells, e.g. 06_tf_char_rnn's questions) gets its points and a
comment, saved as you type. The gradebook is the one collect wrote (sqlite in the folder, or
the PostgreSQL database of ``--db``, which several graders may mark at once). Stop it with
Ctrl-C (or File, Shut Down): the command then runs every step after grading
(autograder/term/refresh.py), so the hand scores reach grades.csv (and the late
penalties computed on them), the LMS files and report.html, and each hand-graded
student's feedback page is made again with the points and comments; ``collect
--return-feedback`` sends those pages.
"""

import os
import subprocess
import sys
from pathlib import Path

from autograder.grading import ROOT
from autograder.term.folder import command_parser, open_from_command_line
from autograder.term.refresh import refresh


EXCHANGE = ".exchange"  # nbgrader's exchange folder, which this course never uses


def lab_command(folder, port):
    """The JupyterLab command that serves the Formgrader on ``folder``'s gradebook.

    The course hands out and collects through GitHub, never nbgrader's exchange; an empty
    exchange folder of its own keeps the Formgrader from warning that the exchange is missing.
    """
    return [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--ServerApp.port={port}",
            f"--ServerApp.root_dir={folder.root}", "--ServerApp.default_url=/formgrader",
            f"--Exchange.root={folder.root / EXCHANGE}"]


def lab_environment():
    """os.environ for the server: the folder's nbgrader_config.py imports the course's
    autograder/ (PYTHONPATH), and nbgrader runs `alembic` from this venv (PATH)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def run_formgrader(folder, port):
    """Serve the Formgrader on ``folder`` until Ctrl-C or a shut-down from the page."""
    print(f"Formgrader on {folder.root}: http://localhost:{port}/formgrader (the token is in "
          "the server's first lines). Ctrl-C when done: grades, reports and feedback follow.",
          file=sys.stderr)
    (folder.root / EXCHANGE).mkdir(exist_ok=True)
    server = subprocess.Popen(lab_command(folder, port), cwd=folder.root, env=lab_environment(),
                              stdin=subprocess.DEVNULL)  # no terminal: Ctrl-C stops it at once
    try:
        server.wait()
    except KeyboardInterrupt:
        server.wait()  # it received the same Ctrl-C


def main(argv=None):
    parser = command_parser(__doc__)
    parser.add_argument("--roster", help="the roster CSV collect read (names for grades.csv "
                                         "and the LMS files)")
    parser.add_argument("--extensions", metavar="CSV", help="extensions (default: "
                                                            "extensions.csv beside the roster)")
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--unsafe-no-sandbox", action="store_true",
                        help="render feedback pages without bubblewrap (as collect's option)")
    args = parser.parse_args(argv)
    folder = open_from_command_line(args)
    run_formgrader(folder, args.port)
    lines = refresh(folder, args.roster, args.extensions,
                    sandbox="none" if args.unsafe_no_sandbox else "bwrap")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
