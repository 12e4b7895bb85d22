#!/bin/sh
# Starts IMAGE with the ras container socket directory mounted read-only (a read-write mount
# would let the container's root replace the socket other containers use) and `rasctl agent`
# running beside the image's own command, then registers it with rasd.
#   usage: run-agent.sh NAME IMAGE [COMMAND...]
set -eu
name=$1 image=$2
shift 2
docker run -d --name "$name" -v /run/ras/container:/run/ras:ro "$image" \
    sh -c 'rasctl agent & exec "$@"' sh "$@"
rasctl container add "$name" --type docker
