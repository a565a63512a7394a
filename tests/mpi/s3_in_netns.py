"""s3_in_netns.py - run the S3 test server (tests/s3/s3server.py) inside a
network namespace, listening on that namespace's address, so that every
"host" of the namespace cluster can reach it.

Started by the multi-host MPI test as
    ip netns exec NS /usr/bin/python3 s3_in_netns.py STATE_DIR ADDRESS BUCKET
it prints one JSON line (the server's info, with its endpoint) once the
server answers and the bucket exists, then waits; SIGTERM (or stdin closing)
stops the server and exits. Bounded: it exits on its own after MAX_SECONDS."""
import json
import os
import signal
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "s3"))
import s3server  # noqa: E402

MAX_SECONDS = 600


def main():
    state, address, bucket = sys.argv[1], sys.argv[2], sys.argv[3]
    kinds = s3server.kinds()
    if "s3rver" not in kinds:
        print(json.dumps({"error": "s3rver is not installed (scripts/setup.sh installs it)"}), flush=True)
        return 1
    proc, info = s3server.spawn("s3rver", state, bucket=bucket, address=address)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    print(json.dumps({k: v for k, v in info.items() if k != "env"}), flush=True)
    done.wait(MAX_SECONDS)
    s3server.stop(proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
