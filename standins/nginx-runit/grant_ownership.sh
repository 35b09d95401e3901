#!/bin/sh
# What the runtime user must own, each with the error its absence causes (as Microsoft lists them).
set -e
# runsv <service>: fatal: unable to open supervise/lock: file does not exist
chown -R dockeruser /var/runit
# nginx: [alert] could not open error log file: open() "/var/log/nginx/error.log" failed (13: Permission denied)
chown -R dockeruser /var/log
# nginx: [emerg] mkdir() "/var/lib/nginx/body" failed (13: Permission denied)
chown -R dockeruser /var/lib/nginx
# nginx: [emerg] open() "/run/nginx.pid" failed (13: Permission denied)
chown -R dockeruser /run
chmod +x /var/azureml-logger/start_logger.sh
# conda's NotWritableError on <root>/pkgs/urls.txt when the start script makes an environment
mkdir -p /opt/miniconda
chown -R dockeruser /opt/miniconda
mkdir -p /var/azureml-app
chown -R dockeruser /var/azureml-app
