#!/usr/bin/python3
"""Runs client/examples/feed_follower.py against a real onestopd: kill -9 mid-way, more writes,
restart; the union of what it printed holds every revision exactly once, in order.

argv: ONESTOPD ONESTOPCTL SOURCE_DIR
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile

ONESTOPD, ONESTOPCTL, SRC = sys.argv[1:4]
AGENCY, PROCEDURE = "000.01.31.H15", "1.001193"


def fail(message):
    print("FAIL:", message, file=sys.stderr)
    sys.exit(1)


def issue_token(server, admin_token_file, tmp):
    """A token for the follower (a desk that submits, a service that watches) at every root
    agency, made with the daemon's bootstrap admin token; returns the file holding it."""
    ctl = [ONESTOPCTL, f"--server={server}", f"--token-file={admin_token_file}", "--output=json"]
    listed = subprocess.run(ctl + ["agencies"], check=True, capture_output=True, text=True).stdout
    roots = [a["code"] for a in map(json.loads, filter(None, listed.splitlines()))
             if not a.get("parentCode")]
    grants = [arg for root in roots for arg in ("--grant", f"clerk:{root}", "--grant",
                                                f"service:{root}")]
    created = subprocess.run(ctl + ["admin", "token", "create", "--principal", "feed-follower",
                                    *grants], check=True, capture_output=True, text=True).stdout
    path = os.path.join(tmp, "follower.token")
    with open(path, "w") as out:
        out.write(json.loads(created)["secret"] + "\n")
    return path


def main():
    tmp = tempfile.mkdtemp(prefix="onestop_follower_")
    daemon = follower = None
    try:
        gen = os.path.join(tmp, "gen")
        os.mkdir(gen)
        protos = [f"onestop/v1/{n}.proto" for n in
                  ("catalogue", "dossier", "dossier_service", "feed_service")]
        subprocess.run(["protoc", "-I", os.path.join(SRC, "proto"), f"--python_out={gen}",
                        f"--grpc_out={gen}",
                        "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin", *protos],
                       check=True)
        daemon = subprocess.Popen(
            [ONESTOPD, f"--config={SRC}/deploy/daklak-2020.textproto",
             f"--db={tmp}/onestop.db", "--listen=127.0.0.1:0", "--clock=controlled",
             "--clock-start=2020-01-06T08:00:00+07:00", "--insecure",
             f"--bootstrap-token-file={tmp}/admin.token"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = daemon.stdout.readline()
        if "listening on" not in line:
            fail(f"onestopd did not start: {line!r}")
        server = line.split()[-1]
        token_file = issue_token(server, f"{tmp}/admin.token", tmp)

        def ctl_submit(n):
            for _ in range(n):
                subprocess.run([ONESTOPCTL, f"--server={server}", f"--token-file={token_file}",
                                "submit", "--agency", AGENCY,
                                "--procedure", PROCEDURE, "--name", "Trần Thị Bình"],
                               check=True, stdout=subprocess.DEVNULL)

        env = dict(os.environ, PYTHONPATH=gen)
        checkpoint = os.path.join(tmp, "checkpoint")
        follower_cmd = ["/usr/bin/python3", os.path.join(SRC, "client/examples/feed_follower.py"),
                        "--server", server, "--checkpoint", checkpoint, "--trace-checkpoints",
                        "--token-file", token_file]
        printed = []

        def read_until(proc, wanted):
            """Collects printed events until the line `wanted` appears."""
            while True:
                out = proc.stdout.readline()
                if not out:
                    fail(f"follower ended before printing {wanted!r}")
                if out.startswith("event "):
                    printed.append(int(out.split()[1]))
                if out.strip() == wanted:
                    return

        ctl_submit(3)  # revisions 1..3
        follower = subprocess.Popen(follower_cmd + ["--submit-agency", AGENCY,
                                                    "--submit-procedure", PROCEDURE],
                                    stdout=subprocess.PIPE, text=True, env=env)
        # Its own submission is revision 4; kill it once that is checkpointed, mid-stream.
        read_until(follower, "checkpoint 5")
        follower.send_signal(signal.SIGKILL)
        follower.wait()
        ctl_submit(3)  # 5..7 while it is down
        follower = subprocess.Popen(follower_cmd, stdout=subprocess.PIPE, text=True, env=env)
        read_until(follower, "checkpoint 8")
        ctl_submit(2)  # 8..9 live
        read_until(follower, "checkpoint 10")
        if printed != list(range(1, 10)):
            fail(f"want every revision 1..9 exactly once, in order; printed {printed}")
        print("ok: revisions", printed)
    finally:
        for proc in (follower, daemon):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
