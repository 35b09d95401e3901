#!/usr/bin/env bash
# One rsyslogd in the foreground; when one already runs, nothing (runit will ask again).
if ! pgrep -x rsyslogd >/dev/null; then
    exec rsyslogd -n
fi
