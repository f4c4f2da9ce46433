#!/usr/bin/env bash
# Cost and policy preview of a change, one Markdown comment per affected stack, for any CI.
#
#   ci/llm-fleet-plan.sh [BASE_REF] [OUT_DIR]
#
# BASE_REF  the branch the change goes into (default: origin/$GITHUB_BASE_REF, else origin/main).
#           The comparison is against the merge base of BASE_REF and HEAD, so commits that
#           landed on the base branch after the change branched off are not shown as its own.
# OUT_DIR   where to write <stack>.md (the comment, its first line a hidden marker), <stack>.exit
#           (the plan's exit code) and <stack>.stderr; relative to the repository root
#           (default: llm-fleet-plan-out).
# LLM_FLEET the command to run (default: ./bin/llm-fleet, from the repository root).
#
# Needs the full history, or at least the merge base (actions/checkout: fetch-depth: 0), and
# installed dependencies (npm ci). Needs no cloud credentials: the plan is computed offline.
#
# Exit status: 0 when every affected stack's plan passed (or none is affected); otherwise the
# worst of the stacks' codes, worst first: 4 (internal error), 1 (bad config or base), 2 (nothing
# fits), 3 (a mandatory policy failed). A plan that could not be made at all ranks above a breach,
# as it leaves the reviewer with no verdict; all of them fail the check.
set -euo pipefail

base_ref="${1:-origin/${GITHUB_BASE_REF:-main}}"
out="${2:-llm-fleet-plan-out}"
llm_fleet="${LLM_FLEET:-./bin/llm-fleet}"
readonly comment_limit=65536

cd "$(git rev-parse --show-toplevel)"

if ! merge_base="$(git merge-base "$base_ref" HEAD 2>/dev/null)"; then
  echo "llm-fleet-plan: no merge base between $base_ref and HEAD: fetch the base branch and enough history (actions/checkout with fetch-depth: 0)" >&2
  exit 1
fi

mkdir -p "$out"
# Results of an earlier run in the same directory would otherwise be posted again.
rm -f "$out"/*.md "$out"/*.exit "$out"/*.stderr

# Stack files decide one stack; everything else the plan reads (the sizing model, the policy
# pack, the components and charts, the stack program and presets) can change every stack.
# Against the working tree, not HEAD, as the plan's head side is the working tree: the same in
# CI, and honest for a local run with uncommitted or new files.
watched=(stacks/ policy/ sizing/ charts/ components/)
# --no-renames: a renamed stack file is its old name removed and its new one added, whatever the
# user's diff.renames; core.quotePath=false keeps non-ASCII names as they are.
changed="$(git -c core.quotePath=false diff --no-renames --name-only "$merge_base" -- "${watched[@]}"; git -c core.quotePath=false ls-files --others --exclude-standard -- "${watched[@]}")"
affected=""
all=0
while IFS= read -r path; do
  case "$path" in
    "") ;;
    # A file in a folder under stacks/ is part of the program, not a stack file.
    stacks/*/*) all=1 ;;
    stacks/Pulumi.*.yaml | stacks/Pulumi.*.yml)
      # A removed stack has nothing to plan.
      if [[ -f "$path" ]]; then affected+="$path"$'\n'; fi
      ;;
    *) all=1 ;;
  esac
done <<<"$changed"
if [[ "$all" == 1 ]]; then
  for path in stacks/Pulumi.*.yaml stacks/Pulumi.*.yml; do
    if [[ -f "$path" ]]; then affected+="$path"$'\n'; fi
  done
fi

files=()
while IFS= read -r path; do
  if [[ -n "$path" ]]; then files+=("$path"); fi
done < <(printf '%s' "$affected" | LC_ALL=C sort -u)

if [[ "${#files[@]}" == 0 ]]; then
  echo "llm-fleet-plan: no stack is affected by the changes since $base_ref (merge base ${merge_base:0:12})"
  exit 0
fi

# Higher is worse; see the exit status above.
rank() {
  case "$1" in
    0) echo 0 ;;
    3) echo 1 ;;
    2) echo 2 ;;
    1) echo 3 ;;
    *) echo 4 ;;
  esac
}

meaning() {
  case "$1" in
    0) echo "policy passed" ;;
    1) echo "bad config or base" ;;
    2) echo "nothing fits" ;;
    3) echo "a mandatory policy failed" ;;
    4) echo "internal error" ;;
    *) echo "unexpected exit code" ;;
  esac
}

chars() { LC_ALL=C.UTF-8 wc -m <"$1" 2>/dev/null || wc -c <"$1"; }

worst=0
summary=()
for file in "${files[@]}"; do
  stack="${file#stacks/Pulumi.}"
  stack="${stack%.yaml}"
  marker="<!-- llm-fleet-plan:$stack -->"
  body="$out/$stack.md"
  stdout="$out/$stack.stdout"
  stderr="$out/$stack.stderr"

  mode="diff against ${merge_base:0:12}"
  code=0
  if git cat-file -e "$merge_base:$file" 2>/dev/null; then
    "$llm_fleet" plan --config "$file" --diff "git:$merge_base" --format markdown >"$stdout" 2>"$stderr" || code=$?
    # The command says so itself when the base has no such stack, e.g. if the check above and
    # the command disagree on paths; a new stack is then shown on its own.
    if [[ "$code" == 1 ]] && grep -q "no stack file" "$stderr"; then
      mode="new stack"
      code=0
      "$llm_fleet" plan --config "$file" --format markdown >"$stdout" 2>"$stderr" || code=$?
    fi
  else
    mode="new stack"
    "$llm_fleet" plan --config "$file" --format markdown >"$stdout" 2>"$stderr" || code=$?
  fi

  {
    echo "$marker"
    if [[ -s "$stdout" ]]; then
      cat "$stdout"
    else
      # Exit 1 and 4 print only to stderr; the comment still has to say why there is no plan.
      echo "**llm-fleet plan failed for stack \`$stack\`** (exit $code: $(meaning "$code"))"
      echo
      echo '```text'
      head -c 60000 "$stderr"
      echo '```'
    fi
  } >"$body"
  if (( $(chars "$body") > comment_limit )); then
    mv "$body" "$out/$stack.full.md"
    {
      echo "$marker"
      head -n 1 "$stdout"
      echo
      echo "_The full plan is over GitHub's comment limit: see \`$stack.full.md\` in the job's output or run \`llm-fleet plan --config $file --diff git:<base> --format markdown\`._"
    } >"$body"
  fi
  rm -f "$stdout"
  echo "$code" >"$out/$stack.exit"

  if [[ -s "$stderr" ]]; then
    echo "--- $stack: stderr" >&2
    cat "$stderr" >&2
  fi
  if (( $(rank "$code") > $(rank "$worst") )); then worst="$code"; fi
  summary+=("$(printf '  %-16s exit %s  %s (%s)' "$stack" "$code" "$(meaning "$code")" "$mode")")
done

echo "llm-fleet-plan: ${#files[@]} stack(s) against $base_ref (merge base ${merge_base:0:12}), comments in $out/"
printf '%s\n' "${summary[@]}"
exit "$worst"
