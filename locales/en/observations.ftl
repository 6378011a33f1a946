# Key observations drafted from a report's figures (en).
obs-status = Of the indicators, { $met } reached their target, { $way } are on the way and { $off } are off track.
obs-off-track = { $indicator } ({ $area }) is off track: value { $value }, target { $target }.
obs-met = { $indicator } ({ $area }) reached its target: value { $value }, target { $target }.
obs-change = { $figure }: { $value } (previous period { $previous }).
obs-nps-gap-lower = The NPS of service in Swedish was { $points } points below that of service in Finnish.
obs-nps-gap-higher = The NPS of service in Swedish was { $points } points above that of service in Finnish.
obs-unhandled = At the end of the period, { $count } reports had been unhandled for over two months.
obs-corrections-overdue = Of the supervision's requests for correction, { $count } are overdue.
report-draft-hint = Valvo drafted this from the period's figures: every number is a figure of the report. Edit the text and save; the report is approved only once reviewed.
report-draft-again = Draft again from the period's figures
