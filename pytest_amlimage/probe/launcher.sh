# Runs the probe ("$1", never interpolated; "$2", "$3" its arguments) with the interpreter that
# serves score.py: the python the start command names (python -m azureml_inference_server_http),
# else the shebang of the azmlinfsrv it names, else the python AZUREML_INFERENCE_PYTHON_PATH names,
# else the shebang of the azmlinfsrv on PATH, else the first python on PATH.
# POSIX sh: images have no bash. The markers are the host's (pytest_amlimage.probe).
printf '@@AMLIMAGE-UID@@%s\n' "$(id -u 2>/dev/null)"

shebang() {  # the python script $1 runs with; pip's /bin/sh trampoline (a long path) read through
  [ -r "$1" ] || return 0
  { IFS= read -r first; IFS= read -r second; } < "$1"
  case "$first" in "#!"*) ;; *) return 0;; esac
  set -- ${first#??}
  case "$1" in */env) set -- "$(command -v "$2")";; esac
  case "$1" in */sh) set -- ${second#"'''exec' "}; set -- "${1#\"}"; set -- "${1%\"}";; esac
  case "${1##*/}" in python*) if [ -x "$1" ]; then echo "$1"; fi;; esac
}

serving() {
  s="$AMLIMAGE_SERVER_PROGRAM"
  case "${s##*/}" in python*) command -v "$s"; return;; esac  # python -m the server
  d="$AZUREML_INFERENCE_PYTHON_PATH"
  if [ -z "$s" ] && [ -n "$d" ] && [ -x "$d/python" ]; then echo "$d/python"; return; fi
  [ -n "$s" ] || s=$(command -v azmlinfsrv 2>/dev/null) || return 0
  shebang "$s"
}

p=$(serving)
if [ -n "$p" ]; then exec "$p" -c "$1" "$2" "$3"; fi
for p in python python3; do
  if command -v "$p" >/dev/null 2>&1; then exec "$p" -c "$1" "$2" "$3"; fi
done
echo @@AMLIMAGE-NO-PYTHON@@
exit 127
