# Key observations drafted from a report's figures (fi).
obs-status = Mittareista { $met } saavutti tavoitteensa, { $way } on tavoitteen suunnassa ja { $off } ei ole tavoitteen suunnassa.
obs-off-track = { $indicator } ({ $area }) ei ole tavoitteen suunnassa: arvo { $value }, tavoite { $target }.
obs-met = { $indicator } ({ $area }) saavutti tavoitteensa: arvo { $value }, tavoite { $target }.
obs-change = { $figure }: { $value } (edellisellä jaksolla { $previous }).
obs-nps-gap-lower = Ruotsinkielisen palvelun NPS oli { $points } pistettä suomenkielistä alempi.
obs-nps-gap-higher = Ruotsinkielisen palvelun NPS oli { $points } pistettä suomenkielistä korkeampi.
obs-unhandled = Yli kaksi kuukautta käsittelemättä oli jakson lopussa { $count } ilmoitusta.
obs-corrections-overdue = Valvonnan korjauspyynnöistä { $count } on myöhässä.
report-draft-hint = Valvo laati tämän luonnoksen jakson luvuista: jokainen luku on raportin luku. Muokkaa tekstiä ja tallenna; raportti hyväksytään vasta tarkastettuna.
report-draft-again = Laadi luonnos uudelleen jakson luvuista
