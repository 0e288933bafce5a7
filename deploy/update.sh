#!/usr/bin/env bash
# `make update`: bring this install up to date with its upstream branch (origin/main) without losing anything.
#
# The order is the point. Everything that can stop an update is tried before anything changes:
#   1. refuse, changing nothing, when there is no upstream branch, when fetching fails, when the branch has
#      commits of its own, or when files of the app edited here would be overwritten by the fast-forward
#      (programme files: say how to move them to instance/content/). Edits to files the fast-forward does not
#      touch stay as they are and do not stop it; the summary names them;
#   2. install the new commit's dependencies into .venv while the old code still runs (no network to PyPI:
#      the update stops here and the app runs on as it was);
#   3. stop the service, fast-forward, refresh the install with the NEW Makefile, bring the shipped changes
#      into the host's own copies in instance/content/, check the programme files, upgrade the database
#      (`p2p upgrade` makes a backup first), start the service again.
# If a step of 3 fails, the code goes back to the commit it was at (edits made here kept), the host's copies
# go back to what they were, and the service starts on it again.
#
# The install may have been moved already by a plain `git pull` (the README's one-time form for installs from
# before `make update`, or a habit): then HEAD is not where make update last finished, and the update finishes
# what the pull left undone (dependencies, programme copies, database, service) from there.
#
# Run it as the owner of the checkout (pi on a Pi), not as root: it asks sudo for systemctl only.
# SERVICE: the systemd unit's name (default p2p). SETTLE_SECONDS: how long the restarted service must stay up
# before it is called running (default 5). MAKE: the make to run the new Makefile with.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
service=${SERVICE:-p2p}
settle_seconds=${SETTLE_SECONDS:-5}
make=${MAKE:-make}
# The commit this install last finished updating to: when it is the current one too, there is nothing to do.
# (After a plain `git pull` it is not, and the update finishes what the pull left undone.)
updated_to=.venv/.p2p-updated-to
# Where a plain `git pull` moved the code from, when it moved since make update last finished (empty if not),
# and the git command that moved it last, as HEAD's reflog names it ("git pull" after the one-time form).
pulled_from="" moved_by="git pull"
# Edits made here to files of the app that the update does not change (git's "status<TAB>path" lines).
kept_edits=""

say() { printf '%s\n' "$@"; }
indent() { sed 's/^/    /'; }

# Stop before anything has changed, saying why and what to do (one line each argument). When git pull had
# moved the code already, that is not "nothing changed": say so, and what it means for the running app.
refuse() {
    {
        if [ -n "$pulled_from" ]; then
            say "make update could not finish the update that $moved_by started: $1"
        else
            say "make update changed nothing: $1"
        fi
        shift
        [ $# -eq 0 ] || say "$@"
        if [ -n "$pulled_from" ]; then
            say "" "Meanwhile: $moved_by moved the code from $(short "$pulled_from") to $(short HEAD), but the rest of the" \
                "install (new dependencies, the database's upgrade) has not caught up with it. The app that is" \
                "running now goes on as it is; do not restart it (or the machine) before make update has finished:" \
                "the new code may not start without them."
        fi
    } >&2
    exit 1
}

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

short() { git rev-parse --short "$1"; }

commits() {
    local count
    count=$(git rev-list --count "$1")
    if [ "$count" = 1 ]; then say "1 new commit"; else say "$count new commits"; fi
}

# ---------------------------------------------------------------------------------------------------------------
# 1. What would stop the update.

# Programme files edited in content/ (content/<programme>/<file>.toml) get the commands that keep them in
# instance/content/, where they are used in place of the shipped ones: no update overwrites them there, and each
# brings the shipped file's changes into them (step 3).
is_programme_file() { [[ $1 =~ ^content/[^/]+/[^/]+\.toml$ ]]; }

keep_in_instance_commands() {   # lines of "status<TAB>path": git's A (added), D (deleted), M (modified)...
    local status path folder target
    local -A made=()
    while IFS=$'\t' read -r status path; do
        folder=instance/${path%/*}
        target=instance/$path
        if [ "$status" = D ]; then
            say "git checkout HEAD -- $path   # deleted here: instance/content/ replaces files, never removes one"
            continue
        fi
        [ -n "${made[$folder]:-}" ] || say "mkdir -p $folder"
        made[$folder]=1
        if [ -e "$target" ]; then
            # Yours is there already: keep this one beside it (not .toml, so not loaded) to compare later.
            target=$target.edited-in-content
        fi
        if [ "$status" = A ]; then
            say "git rm --cached --quiet $path" "mv $path $target"
        else
            say "cp $path $target" "git checkout HEAD -- $path"
        fi
    done
}

# Edits made here (lines of git's "status<TAB>path") to files that the fast-forward changes (want=1), or to
# files it leaves alone (want=0). Only the first stop an update: git carries the others over as they are.
edits_to_files_it_changes() {
    local want=$1 changed=$2
    awk -F'\t' -v want="$want" 'NR == FNR { changed[$0] = 1; next } NF && (($2 in changed) ? 1 : 0) == want' \
        <(printf '%s\n' "$changed") -
}

refuse_local_edits() {
    local changes=$1 programme_files other_files
    programme_files=$(while IFS=$'\t' read -r status path; do
        if is_programme_file "$path"; then printf '%s\t%s\n' "$status" "$path"; fi
    done <<<"$changes")
    other_files=$(while IFS=$'\t' read -r status path; do
        if ! is_programme_file "$path"; then say "$path"; fi
    done <<<"$changes")
    local advice=()
    if [ -n "$programme_files" ]; then
        advice+=("Programme files changed here, in content/:" "$(cut -f2 <<<"$programme_files" | indent)" ""
                 "Your own versions belong in instance/content/: a file there is used in place of the shipped one"
                 "with the same name, no update overwrites it, and each update brings the new version's changes"
                 "into it, keeping your edits (content/README.md). These commands keep yours there and undo the"
                 "change in content/:" ""
                 "$(keep_in_instance_commands <<<"$programme_files" | indent)" "")
    fi
    if [ -n "$other_files" ]; then
        advice+=("Other files of the app changed here:" "$(indent <<<"$other_files")" ""
                 "Keep a copy of your changes if you want them (git diff HEAD > ~/p2p-my-changes.diff), then"
                 "undo them:" "" "$(git_undo_commands <<<"$changes" | indent)" "")
        if grep -q '^deploy/' <<<"$other_files"; then
            advice+=("(Files in deploy/ are templates: the copies in use are the ones you installed, such as"
                     "/etc/systemd/system/$service.service, and they stay as they are.)" "")
        fi
    fi
    refuse "files that come with the app have changes made here, and moving to the new version would" \
        "overwrite them." "" "${advice[@]}" "Then run make update again."
}

# After the update (or when there was nothing to do): the edits that did not stand in the way this time, and
# how to move programme files out of the way of a later update that changes them.
note_kept_edits() {   # why they are as they were: "this update did not change them", or that there was none
    [ -n "$kept_edits" ] || return 0
    local why=$1 status path programme_files="" other_files=""
    while IFS=$'\t' read -r status path; do
        if is_programme_file "$path"; then
            programme_files+=$status$'\t'$path$'\n'
        else
            other_files+=$path$'\n'
        fi
    done <<<"$kept_edits"
    if [ -n "$programme_files" ]; then
        say "" "Programme files edited here, in content/, are as you left them ($why):" \
            "$(cut -f2 <<<"${programme_files%$'\n'}" | indent)" \
            "A later update that changes one of them will stop until it is moved. Move them now to" \
            "instance/content/, where each is used in place of the shipped one, and where updates bring their" \
            "changes into it, keeping your edits (content/README.md); the groups see the same text:" "" \
            "$(keep_in_instance_commands <<<"${programme_files%$'\n'}" | indent)"
    fi
    if [ -n "$other_files" ]; then
        say "" "Other files of the app edited here, as you left them ($why):" \
            "$(indent <<<"${other_files%$'\n'}")" \
            "A later update that changes one of them will stop and say what to do."
    fi
}

git_undo_commands() {
    local status path
    while IFS=$'\t' read -r status path; do
        is_programme_file "$path" && continue
        if [ "$status" = A ]; then say "git rm --cached --quiet $path"; else say "git checkout HEAD -- $path"; fi
    done
}

refuse_own_commits() {
    local path commands=("git branch my-changes && git reset --hard $upstream")
    # Their programme files (not those they delete) go to instance/content/, taken from the branch kept aside.
    while read -r path; do
        [ -z "$path" ] || commands+=("mkdir -p instance/${path%/*} && git show my-changes:$path > instance/$path")
    done < <(git diff --name-only --no-renames --diff-filter=d "$(git merge-base "$old" "$new")" "$old" \
                 -- 'content/*/*.toml')
    local how="To keep them on a branch of their own (my-changes) and follow $upstream:"
    [ ${#commands[@]} = 1 ] || how="To keep them on a branch of their own (my-changes), follow $upstream, and keep the
programme files they change in instance/content/, where they are used in place of the shipped ones:"
    commands+=("make update")
    refuse "the branch $branch has commits of its own, which $upstream does not have," \
        "so it cannot simply move forward to $upstream:" "" "$(git log --oneline "$new..$old" | indent)" "" \
        "$how" "" "$(say "${commands[@]}" | indent)"
}

# Files the new commit adds where this checkout has untracked files of the same name.
refuse_overwritten_own_files() {
    local clashes=$1 advice=() path
    while read -r path; do
        if is_programme_file "$path"; then
            advice+=("    mkdir -p instance/${path%/*} && mv $path instance/$path")
        else
            advice+=("    mv $path $path.mine")
        fi
    done <<<"$clashes"
    refuse "the new version adds files that exist here already as files of your own:" "" \
        "$(indent <<<"$clashes")" "" \
        "Move yours out of the way (programme files to instance/content/, where they are used in place of the" \
        "shipped ones; content/README.md), then run make update again:" "" "${advice[@]}"
}

check_can_update() {
    [ -x .venv/bin/python ] || refuse "there is no .venv here: the app has not been installed in this folder yet." \
        "Run make run once (docs/hosting.md), then make update."

    branch=$(git symbolic-ref --quiet --short HEAD) || refuse "this checkout is not on a branch." \
        "It is at commit $(short HEAD) (a \"detached HEAD\"), so there is no upstream branch to update it from." \
        "To follow main again:" "" "    git checkout main && make update"
    upstream=$(git rev-parse --abbrev-ref --symbolic-full-name '@{upstream}' 2>/dev/null) \
        || refuse "the branch $branch has no upstream branch to update from." \
            "If it should follow origin's main:" "" \
            "    git branch --set-upstream-to=origin/main $branch && make update"
    remote=$(git config "branch.$branch.remote")

    say "Fetching $upstream…"
    local fetched
    fetched=$(git fetch --quiet "$remote" 2>&1) \
        || refuse "it could not fetch from $remote ($(git remote get-url "$remote" 2>/dev/null))." \
            "Check the network, then run make update again. What git said:" "" "$(indent <<<"$fetched")"

    old=$(git rev-parse HEAD)
    new=$(git rev-parse "$upstream")
    local edits
    edits=$(git diff --name-status --no-renames HEAD)
    if ! git merge-base --is-ancestor "$old" "$new"; then
        # The advice for commits of its own resets the branch, which would lose edits: those first.
        [ -z "$edits" ] || refuse_local_edits "$edits"
        refuse_own_commits
    fi
    local changed blocking_edits
    changed=$(git diff --name-only --no-renames "$old" "$new")
    blocking_edits=$(edits_to_files_it_changes 1 "$changed" <<<"$edits")
    kept_edits=$(edits_to_files_it_changes 0 "$changed" <<<"$edits")
    [ -z "$blocking_edits" ] || refuse_local_edits "$blocking_edits"

    local clashes
    clashes=$(comm -12 <(git ls-files --others --exclude-standard | sort) \
                       <(git diff --name-only --no-renames --diff-filter=A "$old" "$new" | sort))
    [ -z "$clashes" ] || refuse_overwritten_own_files "$clashes"
}

# ---------------------------------------------------------------------------------------------------------------
# The service: a systemd unit that is enabled or active (also one that is failing or restarting in a loop:
# the update is what may fix it).

service_is_there() {
    command -v systemctl >/dev/null || return 1
    systemctl is-enabled --quiet "$service" 2>/dev/null && return 0
    case $(systemctl is-active "$service" 2>/dev/null) in
        active | activating | deactivating | reloading | failed) return 0 ;;
    esac
    return 1
}

# The P2P_* settings the unit gives the app (P2P_DATABASE_URL on PostgreSQL), so that check-content and the
# upgrade see the same database and folders as the service.
service_settings() {
    systemctl show --property=Environment --value "$service" 2>/dev/null | tr ' ' '\n' \
        | grep -E '^P2P_[A-Z0-9_]+=' || true
}

p2p() { env "${settings[@]}" .venv/bin/p2p "$@"; }

start_service() {
    as_root systemctl reset-failed "$service" 2>/dev/null || true   # a crash loop's start limit must not block this
    as_root systemctl start "$service" || true
    sleep "$settle_seconds"
    if [ "$(systemctl is-active "$service" 2>/dev/null)" = active ]; then
        service_state="$service is running"
    else
        service_state="$service is NOT running: sudo journalctl -u $service -n 50 shows why"
        service_failed=1
    fi
}

instance_folder() {
    local instance=instance setting
    for setting in "${settings[@]}"; do
        [[ $setting == P2P_INSTANCE_PATH=* ]] && instance=${setting#*=}
    done
    say "$instance"
}

newest_backup() {
    local instance newest
    instance=$(instance_folder)
    # shellcheck disable=SC2012  # backup names are the app's own: no newlines in them
    newest=$(ls -t "$instance/backups" 2>/dev/null | head -n 1)
    if [ -n "$newest" ]; then say "$instance/backups/$newest"; else say "none found in $instance/backups/"; fi
}

# ---------------------------------------------------------------------------------------------------------------
# The host's own programme files. A file in instance/content/ is used in place of the shipped file with the same
# path in content/, so a change to that shipped file (a new exercise, a live activity) would never be seen, and
# `p2p check-content` cannot tell. So each update brings the shipped file's changes (from the commit the install
# was at to the new one) into the host's copy the way git merges: line by line, where the host's edits are on
# other lines, keeping the copy as it was beside it (not .toml, so not loaded). Where both changed the same
# lines, the copy stays as it was, and the summary says so, with the command that shows the changes and a file
# that has both, marked. Either way the summary lists every such file.

merged_copies=()     # host copies rewritten by this run: the copy as it was is "$own$kept_suffix"
conflict_files=()    # "$own$conflict_suffix" files written by this run
declare -A copy_notes=()
copy_order=()

note_copy() { copy_order+=("$1"); copy_notes[$1]=$2; }

bring_changes_into_host_copies() {   # from to
    local from=$1 to=$2 folder own rel shipped what
    folder=$(instance_folder)/content
    [ -d "$folder" ] && [ "$from" != "$to" ] || return 0
    kept_suffix=.before-$(short "$to") conflict_suffix=.merge-$(short "$to")
    while IFS= read -r own; do
        rel=${own#"$folder"/}
        shipped=content/$rel
        git diff --quiet "$from" "$to" -- "$shipped" && continue
        what="What changed: git diff $(short "$from") $(short "$to") -- $shipped"
        if ! git cat-file -e "$to:$shipped" 2>/dev/null; then
            note_copy "$own" "The new version no longer has $shipped: yours is now a module of its own, shown
beside the shipped ones (no longer in place of one).
What that file had: git show $(short "$from"):$shipped"
            continue
        fi
        if ! git cat-file -e "$from:$shipped" 2>/dev/null; then
            note_copy "$own" "The new version brings a file of the same name, $shipped, and yours is used in
place of it, so the groups do not see it.
What it has: git show $(short "$to"):$shipped"
            continue
        fi
        git show "$from:$shipped" >"$tmp/shipped-before"
        git show "$to:$shipped" >"$tmp/shipped-now"
        local conflicts=0
        git merge-file --quiet --stdout -L yours -L "shipped $(short "$from")" -L "new version $(short "$to")" \
            "$own" "$tmp/shipped-before" "$tmp/shipped-now" >"$tmp/merged" 2>/dev/null || conflicts=$?
        if [ "$conflicts" = 0 ]; then
            if cmp -s "$tmp/merged" "$own"; then
                note_copy "$own" "It has the new version's changes already.
$what"
                continue
            fi
            cp -p "$own" "$own$kept_suffix"
            cat "$tmp/merged" >"$own"    # the same file: its owner and mode stay
            merged_copies+=("$own")
            note_copy "$own" "The new version's changes are in it now, and your edits are kept.
Yours as it was: $own$kept_suffix
$what"
        elif [ "$conflicts" -lt 128 ]; then
            cp -p "$own" "$own$conflict_suffix"
            cat "$tmp/merged" >"$own$conflict_suffix"
            conflict_files+=("$own$conflict_suffix")
            note_copy "$own" "NOT brought up to date: the new version changed lines you changed too, so the groups
see your copy as it was, without the new version's changes.
$what
Both together, each place where they differ marked (<<<<<<< yours ... >>>>>>> new version):
$own$conflict_suffix
Edit that file to keep what you want, remove the marker lines, then use it in place of yours:
    mv $own$conflict_suffix $own
    .venv/bin/p2p check-content && sudo systemctl restart $service"
        else
            note_copy "$own" "NOT brought up to date (git could not compare the files): the groups see your copy as
it was, without the new version's changes.
$what"
        fi
    done < <(find "$folder" -mindepth 2 -maxdepth 2 -type f -name '*.toml' ! -path "$folder/.*" \
                 ! -path "$folder/_*" | sort)
}

# Put the host's copies back as they were before this run (and remove the marked files it wrote).
put_back_host_copies() {
    local own
    for own in "${merged_copies[@]}"; do
        cat "$own$kept_suffix" >"$own" && rm -f "$own$kept_suffix"
    done
    for own in "${conflict_files[@]}"; do rm -f "$own"; done
    merged_copies=() conflict_files=()
}

# The programme files, as the new version reads them. If they fail only with the copies this run brought up to
# date, those go back to what they were and the update goes on with them (said in the summary).
check_programme_files() {
    local output
    output=$(p2p check-content 2>&1) && return 0
    if [ ${#merged_copies[@]} -gt 0 ]; then
        local own merged=("${merged_copies[@]}")
        put_back_host_copies
        if p2p check-content >/dev/null 2>&1; then
            for own in "${merged[@]}"; do
                copy_notes[$own]="NOT brought up to date: with the new version's changes added, the programme files
were not valid, so the groups see your copy as it was, without them. What the check said:
$(indent <<<"$output")
What changed: git diff $(short "$updated_from") $(short "$new") -- content/${own#"$(instance_folder)/content/"}"
            done
            return 0
        fi
    fi
    roll_back "The new version does not accept the programme files:" "$output"
}

report_host_copies() {
    [ ${#copy_order[@]} -gt 0 ] || return 0
    say "" "Your own programme files in instance/content/, each used in place of a shipped file this update changed:"
    local own
    for own in "${copy_order[@]}"; do
        say "  $own:" "$(indent <<<"${copy_notes[$own]}")"
    done
}

# ---------------------------------------------------------------------------------------------------------------

# After the switch: put the code back where it was (keeping edits made here to files it did not change), the
# host's copies as they were, start the service on it, say what happened. After a plain git pull, "where it was"
# is where the app ran before the pull (updated_from): the pulled code has not got the rest of the install it
# needs, which is what failed, and the next make update starts from there again.
roll_back() {
    local what=$1 detail=${2:-}
    {
        say "$what"
        [ -z "$detail" ] || indent <<<"$detail"
    } >&2
    put_back_host_copies
    if ! git reset --keep --quiet "$updated_from" 2>/dev/null; then
        # Not expected (edits to files the update changes were refused before it started); keep them anyway.
        git diff HEAD >"$HOME/p2p-my-changes.diff"
        say "(Edits made here are saved in $HOME/p2p-my-changes.diff: git apply that file brings them back.)" >&2
        git reset --hard --quiet "$updated_from"
    fi
    service_state="no systemd service called $service here"
    if [ -n "$had_service" ]; then start_service; fi
    {
        if [ -n "$pulled_from" ]; then
            say "" "The update did not happen: the code is back at $(short "$updated_from"), where the app ran before" \
                "$moved_by moved it to $(short "$old"); make update will start from there next time."
        else
            say "" "The update did not happen: the code is back at $(short "$old"), where it was."
        fi
        [ -z "$unmet" ] || say "(The new dependencies stay installed in .venv; the code there runs with them.)"
        say "  service:       $service_state"
        say "  newest backup: $(newest_backup)"
    } >&2
    exit 1
}

# ---------------------------------------------------------------------------------------------------------------

# Where the code was moved from since make update last finished here, by git run by hand, usually a plain
# git pull (pulled_from; empty if it was not): the marker, when make update has finished here before; on an
# install it never finished on (the one-time form, `git checkout main && git pull --ff-only && make update`),
# HEAD's reflog, when the last move was a pull (with the `git checkout main` before it, whose start is where
# the code ran).
find_pulled_from() {
    local head marker from=""
    head=$(git rev-parse HEAD)
    marker=$(cat "$updated_to" 2>/dev/null || true)
    if [ -n "$marker" ]; then
        from=$marker
    else
        local commits=() subjects=() commit subject
        while IFS=$'\t' read -r commit subject; do
            commits+=("$commit") subjects+=("$subject")
        done < <(git reflog -n 3 --format='%H%x09%gs' HEAD 2>/dev/null || true)
        if [ ${#commits[@]} -ge 2 ] && [[ ${subjects[0]} =~ ^(pull|merge)[\ :] ]]; then
            from=${commits[1]}
            if [ ${#commits[@]} -ge 3 ] && [[ ${subjects[1]} == "checkout: moving from "* ]]; then
                from=${commits[2]}
            fi
        fi
    fi
    if [ -n "$from" ] && [ "$from" != "$head" ] && git merge-base --is-ancestor "$from" "$head" 2>/dev/null; then
        pulled_from=$(git rev-parse "$from")
        local last_move
        last_move=$(git reflog -n 1 --format=%gs HEAD 2>/dev/null || true)
        if [[ $last_move =~ ^([a-z-]+)[\ :] ]]; then moved_by="git ${BASH_REMATCH[1]}"; fi
    fi
}

main() {
    # First, before git: as root in someone else's folder, git itself refuses to work ("dubious ownership").
    local folder
    for folder in . instance; do
        if [ "$(id -u)" = 0 ] && [ -e "$folder" ] && [ "$(stat -c %u "$folder")" != 0 ]; then
            refuse "it was run as root. Run it as $(stat -c %U "$folder"), who owns this folder, without sudo:" \
                "files it writes, such as the database's backups, must stay theirs. It asks for sudo itself to" \
                "stop and start the service."
        fi
    done
    local top
    top=$(git rev-parse --show-toplevel 2>/dev/null) || refuse "this folder is not a git checkout of the app."
    cd "$top"
    find_pulled_from
    check_can_update
    # Where the rest of the install (dependencies, the host's programme copies, the database) was brought to last.
    updated_from=${pulled_from:-$old}

    mapfile -t settings < <(service_settings)
    if [ "$old" = "$new" ] && [ "$(cat "$updated_to" 2>/dev/null)" = "$old" ]; then
        local state="no systemd service called $service here"
        if service_is_there; then
            state="$service is $(systemctl is-active "$service" 2>/dev/null || true)"
            [ "$state" = "$service is active" ] || state="$state (sudo journalctl -u $service -n 50 shows why)"
        fi
        say "Peer 2 Peer is up to date: $(short "$old") is the newest on $upstream. Nothing to do." \
            "  service: $state"
        note_kept_edits "there was no update to make"
        return 0
    fi

    # 2. Dependencies, while the old code still runs.
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    local report unmet dependencies="nothing new to install"
    report=$(git show "$new:pyproject.toml" >"$tmp/pyproject.toml" \
             && .venv/bin/python "$here/unmet_dependencies.py" pyproject.toml "$tmp/pyproject.toml" 2>&1) \
        || refuse "it could not read the new version's dependencies (its pyproject.toml):" "" \
            "$(indent <<<"$report")"
    unmet=$(awk -F'\t' '$1 == "unmet" { print $2 }' <<<"$report")
    if [ -n "$unmet" ]; then
        say "Installing the new version's dependencies: $(paste -sd ' ' <<<"$unmet")…"
        cut -f2 <<<"$report" >"$tmp/requirements.txt"
        local runs_on=("The app runs on as it was.")
        [ -z "$pulled_from" ] || runs_on=()   # it does, on code that git pull has moved: refuse says what that means
        .venv/bin/pip install --quiet --disable-pip-version-check -r "$tmp/requirements.txt" \
            || refuse "pip could not install the new version's dependencies into .venv." \
                "Check that this machine can reach PyPI (the network), then run make update again." "${runs_on[@]}"
        dependencies="installed $(paste -sd ' ' <<<"$unmet")"
    fi

    # 3. Switch. From here, a failure puts the code back.
    had_service="" service_failed=""
    if service_is_there; then
        say "Stopping the service $service…"
        if ! as_root systemctl stop "$service"; then
            say "The service $service could not be stopped (sudo systemctl stop $service failed), so the update" \
                "stopped there: the code was not changed, and the app runs on as it was." >&2
            exit 1
        fi
        had_service=1
    fi
    [ "$old" = "$new" ] || say "Moving the code from $(short "$old") to $(short "$new")…"
    local output
    output=$(git merge --ff-only --quiet "$new" 2>&1) \
        || roll_back "git could not move the code to $(short "$new"):" "$output"
    if [ -z "$unmet" ] && [ -e .venv/.installed ]; then
        # The install is editable (it runs this folder's code) and has every dependency: the new Makefile must
        # not run pip only because pyproject.toml changed (pip rebuilds the project and needs PyPI for that).
        touch .venv/.installed
    fi
    output=$("$make" --no-print-directory .venv/.installed 2>&1) \
        || roll_back "Refreshing the install (make .venv/.installed, with the new Makefile) failed:" "$output"
    bring_changes_into_host_copies "$updated_from" "$new"
    check_programme_files
    say "Upgrading the database…"
    local upgraded
    upgraded=$(p2p upgrade 2>&1) || roll_back "The database upgrade did not happen:" "$upgraded"
    git rev-parse HEAD >"$updated_to"

    service_state="no systemd service called $service here (start the app again the way you run it, e.g. make run)"
    if [ -n "$had_service" ]; then
        say "Starting the service $service…"
        start_service
    fi
    if [ "$updated_from" = "$new" ]; then
        # make update had not finished here, and no pull is known to have moved the code: it was here already.
        say "" "Peer 2 Peer is up to date at $(short "$new"), the newest on $upstream. The code was there already," \
            "but make update had not finished here before: the rest of the install has now caught up with it."
    else
        say "" "Peer 2 Peer is updated: $(short "$updated_from") → $(short "$new") ($(commits "$updated_from..$new")), the newest on $upstream."
        if [ -n "$pulled_from" ] && [ "$old" = "$new" ]; then
            say "($moved_by had moved the code already; make update has now brought the rest of the install up to it.)"
        elif [ -n "$pulled_from" ]; then
            say "($moved_by had moved the code from $(short "$pulled_from") to $(short "$old"); make update took it on from" \
                "there, and brought the rest of the install up to it.)"
        fi
    fi
    say "  dependencies: $dependencies" \
        "  database:     $(sed '2,$s/^/                /' <<<"$upgraded")" \
        "  service:      $service_state"
    report_host_copies
    note_kept_edits "this update did not change them"
    [ -z "$service_failed" ]
}

# Everything runs from main, which bash has read whole before it starts: the fast-forward replaces this file.
main "$@"
exit
