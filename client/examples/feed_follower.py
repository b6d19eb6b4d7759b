#!/usr/bin/python3
"""Follows the onestop change feed from a checkpoint file; a minimal portal-synchroniser loop.

Written against the public API only (proto/onestop/v1/*.proto), with Debian's python3-grpcio and
python3-protobuf. Generate the stubs first, e.g.:

  protoc -I proto --python_out=GEN --grpc_out=GEN \
      --plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin \
      proto/onestop/v1/{catalogue,dossier,dossier_service,feed_service}.proto

and run with PYTHONPATH=GEN:

  feed_follower.py --server 127.0.0.1:7600 --checkpoint /var/lib/sync/revision \
      [--submit-agency 000.01.31.H15 --submit-procedure 1.001193]

The bearer token (a service or supervisor principal; docs/SECURITY.md) comes from --token-file or
the ONESTOP_TOKEN environment variable and is sent as `authorization: Bearer <token>`.

For each event it prints "event <revision> <code> <action> <portal status>" and then writes
revision + 1 to the checkpoint file (atomically: write a temp file, fsync, rename), so a crash
re-delivers at most the event being processed. Progress messages advance the checkpoint too.
On UNAVAILABLE it reconnects from the checkpoint; on OUT_OF_RANGE it stops with exit code 3
(events were lost: resynchronise from a listing, then restart from the oldest revision).
"""

import argparse
import os
import sys
import time

import grpc

from onestop.v1 import dossier_pb2
from onestop.v1 import dossier_service_pb2
from onestop.v1 import dossier_service_pb2_grpc
from onestop.v1 import feed_service_pb2
from onestop.v1 import feed_service_pb2_grpc


def read_checkpoint(path):
    try:
        with open(path, encoding="ascii") as f:
            return int(f.read().strip() or "0")
    except FileNotFoundError:
        return 0


def write_checkpoint(path, next_revision):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write(f"{next_revision}\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def credentials(token):
    """The call metadata: the bearer token, or nothing without one."""
    return [("authorization", f"Bearer {token}")] if token else []


def submit(channel, agency, procedure, token):
    stub = dossier_service_pb2_grpc.DossierServiceStub(channel)
    request = dossier_service_pb2.SubmitDossierRequest(
        procedure_code=procedure, receiving_agency_code=agency, receive_now=True,
        channel=dossier_pb2.CHANNEL_DIRECT, summary="feed follower example")
    request.applicant.full_name = "Nguyễn Văn An"
    response = stub.SubmitDossier(request, metadata=credentials(token), timeout=10)
    print(f"submitted {response.dossier.code}", flush=True)


def follow(channel, checkpoint, trace, token):
    feed = feed_service_pb2_grpc.FeedServiceStub(channel)
    while True:
        start = read_checkpoint(checkpoint)
        request = feed_service_pb2.WatchEventsRequest(start_revision=start)
        try:
            for response in feed.WatchEvents(request, metadata=credentials(token)):
                if response.HasField("event"):
                    event = response.event
                    print(f"event {event.revision} {event.dossier.code} "
                          f"{dossier_pb2.ActionKind.Name(event.action)} "
                          f"{event.dossier.portal_status_code}", flush=True)
                    write_checkpoint(checkpoint, event.revision + 1)
                    if trace:
                        print(f"checkpoint {event.revision + 1}", flush=True)
                else:
                    write_checkpoint(checkpoint, response.progress.revision + 1)
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.OUT_OF_RANGE:
                print(f"lost events: {error.details()}", file=sys.stderr, flush=True)
                return 3
            if error.code() != grpc.StatusCode.UNAVAILABLE:
                print(f"watch failed: {error.code().name}: {error.details()}", file=sys.stderr,
                      flush=True)
                return 1
            time.sleep(1)  # the server is restarting: reconnect from the checkpoint


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="127.0.0.1:7600")
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--submit-agency", default="")
    parser.add_argument("--submit-procedure", default="")
    parser.add_argument("--trace-checkpoints", action="store_true",
                        help='print "checkpoint N" after each durable checkpoint of an event')
    parser.add_argument("--token-file", default="",
                        help="read the bearer token from the first line of this file "
                             "(default: $ONESTOP_TOKEN)")
    args = parser.parse_args()
    token = os.environ.get("ONESTOP_TOKEN", "")
    if args.token_file:
        with open(args.token_file, encoding="ascii") as f:
            token = f.readline().strip()
    with grpc.insecure_channel(args.server) as channel:
        if args.submit_agency:
            submit(channel, args.submit_agency, args.submit_procedure, token)
        return follow(channel, args.checkpoint, args.trace_checkpoints, token)


if __name__ == "__main__":
    sys.exit(main())
