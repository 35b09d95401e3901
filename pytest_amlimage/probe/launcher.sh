# Runs the probe ("$1", never interpolated; "$2", "$3" its arguments) with the interpreter that
# serves score.py: the python the start command names (python -m azureml_inference_server_http),
# else the #! python of the azmlinfsrv it names, else the python AZUREML_INFERENCE_PYTHON_PATH names,
# else the #! python of the azmlinfsrv on PATH, else the first python on PATH.
# First it reports the azmlinfsrv that starts, the program its #! line names and whether that is
# there: pip writes the path in, so an environment moved after it cannot start.
# POSIX sh: images have no bash. The host writes its markers in for UID_MARK, SERVER_MARK and NO_PYTHON.
printf 'UID_MARK%s\n' "$(id -u 2>/dev/null)"

interpreter() {  # named by a #! line "$1" (the next line "$2"): through env and pip's long-path trampoline
  case "$1" in "#!"*) ;; *) return 0;; esac
  second="$2"
  set -- ${1#??}
  case "$1" in */env) shift; while case "$1" in -*) ;; *) false;; esac; do shift; done
    set -- "$(command -v "$1" || echo "$1")";; esac
  case "$1" in */sh) set -- ${second#"'''exec' "}; set -- "${1#\"}"; set -- "${1%\"}";; esac
  echo "$1"
}

named="$AMLIMAGE_SERVER_PROGRAM"
case "${named##*/}" in
  python*) module=$(command -v "$named"); script="";;  # python -m the server: no script to read
  *) module=""; script=${named:-$(command -v azmlinfsrv 2>/dev/null)};;
esac
first=""; program=""; runs=""
if [ -n "$script" ] && [ -r "$script" ]; then
  { IFS= read -r first; IFS= read -r second; } < "$script"
  program=$(interpreter "$first" "$second")
  case "$program" in "") ;; /*) if [ -x "$program" ]; then runs=yes; else runs=no; fi;; *) runs=no;; esac
elif [ -e "$script" ]; then
  runs=unreadable
elif [ -n "$script" ]; then
  runs=missing
fi
if [ -n "$script" ]; then printf 'SERVER_MARK%s\t%s\t%s\t%s\n' "$script" "$program" "$runs" "$first"; fi

p="$module"
d="$AZUREML_INFERENCE_PYTHON_PATH"
if [ -z "$p" ] && [ -z "$named" ] && [ -n "$d" ] && [ -x "$d/python" ]; then p="$d/python"; fi
if [ -z "$p" ] && [ "$runs" = yes ]; then case "${program##*/}" in python*) p="$program";; esac; fi
if [ -n "$p" ]; then exec "$p" -c "$1" "$2" "$3"; fi
for p in python python3; do
  if command -v "$p" >/dev/null 2>&1; then exec "$p" -c "$1" "$2" "$3"; fi
done
echo NO_PYTHON
exit 127
