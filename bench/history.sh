# Sourced by the bench scripts: one row per run in bench/results/HISTORY.md (date, benchmark,
# commit, headline figures), the latest full report of each benchmark being bench/results/NAME.md.
# Raw data never enters the tree: each script keeps it in its BENCH_WORK directory and names it in
# the report.

# bench_history_add NAME HEADLINE: appends "| date | NAME | commit (+N modified) | HEADLINE |".
bench_history_add() {
        local name=$1 headline=$2 file=${BENCH_RESULTS:?}/HISTORY.md commit dirty
        commit=$(git -C "${SRCDIR:-.}" rev-parse --short HEAD 2>/dev/null || echo '?')
        dirty=$(git -C "${SRCDIR:-.}" status --porcelain 2>/dev/null | wc -l)
        [ "$dirty" -gt 0 ] && commit="$commit (+$dirty modified)"
        if [ ! -s "$file" ]; then
                printf '# Benchmark history\n\nOne row per run; the full report of the latest run is bench/results/NAME.md.\n\n' >"$file"
                printf '| date | benchmark | commit | headline |\n|---|---|---|---|\n' >>"$file"
        fi
        printf '| %s | %s | %s | %s |\n' "$(date +%F)" "$name" "$commit" "$headline" >>"$file"
}
