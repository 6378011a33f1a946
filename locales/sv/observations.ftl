# Key observations drafted from a report's figures (sv).
obs-status = Av mätarna nådde { $met } sitt mål, { $way } är på väg mot målet och { $off } är inte på väg mot målet.
obs-off-track = { $indicator } ({ $area }) är inte på väg mot målet: värde { $value }, mål { $target }.
obs-met = { $indicator } ({ $area }) nådde sitt mål: värde { $value }, mål { $target }.
obs-change = { $figure }: { $value } (föregående period { $previous }).
obs-nps-gap-lower = NPS för service på svenska var { $points } poäng lägre än för service på finska.
obs-nps-gap-higher = NPS för service på svenska var { $points } poäng högre än för service på finska.
obs-unhandled = I slutet av perioden var { $count } anmälningar obehandlade sedan över två månader.
obs-corrections-overdue = Av tillsynens begäranden om rättelse är { $count } försenade.
report-draft-hint = Valvo skrev det här utkastet utifrån periodens siffror: varje siffra är en siffra i rapporten. Redigera texten och spara; rapporten godkänns först när den är granskad.
report-draft-again = Skriv ett nytt utkast utifrån periodens siffror
