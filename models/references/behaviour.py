"""Works on reinforcement schedules and slot machines, loot boxes and spend concentration,
gambling harm markers and regulation, and discounting."""

from __future__ import annotations

from models.references.reference import Reference

BEHAVIOUR: tuple[Reference, ...] = (
    # ---- reinforcement schedules and slot machines
    Reference(
        "ferster-skinner-1957",
        "Ferster CB, Skinner BF 1957. Schedules of Reinforcement. Appleton-Century-Crofts",
        "Classifies schedules by whether reinforcement depends on a count of responses (ratio) "
        "or on elapsed time (interval), fixed or variable, and describes their characteristic "
        "response patterns, e.g. the pause after reinforcement on fixed schedules. Chapter "
        "numbers cited in this project are unverified.",
    ),
    Reference(
        "fleshler-hoffman-1962",
        "Fleshler M, Hoffman HS 1962. A progression for generating variable-interval "
        "schedules. J. Exp. Anal. Behav. 5:529–530. doi:10.1901/jeab.1962.5-529",
        "Gives a progression of intervals approximating the exponential distribution, so that "
        "the probability of reinforcement stays constant with time since the last one "
        "(a constant-probability variable interval).",
    ),
    Reference(
        "harrigan-dixon-2009",
        "Harrigan KA, Dixon M 2009. PAR Sheets, probabilities, and slot machine play: "
        "implications for problem and non-problem gambling. J. Gambl. Issues 23:81–110. "
        "doi:10.4309/jgi.2009.23.5",
        "From slot-machine design documents (PAR sheets) obtained in Ontario, describes speed "
        "of play, bonus modes, near misses and wins that are in fact losses, and how they "
        "create multi-level reinforcement schedules. It sets no threshold on payout spread.",
    ),
    Reference(
        "dixon-et-al-2010",
        "Dixon MJ, Harrigan KA, Sandhu R, Collins K, Fugelsang JA 2010. Losses disguised as "
        "wins in modern multi-line video slot machines. Addiction 105:1819–1824. "
        "doi:10.1111/j.1360-0443.2010.03050.x",
        "In 40 novices on a multi-line slot machine, skin-conductance responses to 'losses "
        "disguised as wins' (payouts below the stake, with winning sights and sounds) matched "
        "those to real wins and exceeded those to regular losses.",
    ),
    Reference(
        "zagal-bjork-lewis-2013",
        "Zagal JP, Björk S, Lewis C 2013. Dark patterns in the design of games. Proc. Found. "
        "Digit. Games (FDG 2013)",
        "Defines dark game design patterns — design elements that work against players' "
        "interests — with examples, including temporal patterns such as playing by "
        "appointment (the pattern list is confirmed here by secondary sources only). It sets "
        "no interval threshold.",
    ),
    # ---- loot boxes and spend concentration
    Reference(
        "zendle-petrovskaya-wardle-2020",
        "Zendle D, Petrovskaya E, Wardle H 2020. How do loot boxes make money? An analysis of a "
        "very large dataset of real Chinese CSGO loot box openings. PsyArXiv preprint",
        "In 1,469,913 loot-box purchases by 386,269 Chinese Counter-Strike: Global Offensive "
        "users, spending was concentrated (Gini 95 % CI 63.76–64.26 %, lower than among "
        "gamblers), most revenue came from the top 10 % and 26.33 % from the top 1 %. It "
        "proposes no rarity-tier ratio and no top-1 % threshold.",
    ),
    Reference(
        "zendle-meyer-over-2019",
        "Zendle D, Meyer R, Over H 2019. Adolescents and loot boxes: links with problem "
        "gambling and motivations for purchase. R. Soc. Open Sci. 6:190049 (not confirmed by "
        "search)",
        "A survey of older adolescents linking loot-box spending to problem gambling severity "
        "(unverified here). It contains no revenue-concentration figures.",
    ),
    Reference(
        "gini-1912",
        "Gini C 1912. Variabilità e mutabilità. Tipografia di Paolo Cuppini, Bologna",
        "Introduces the mean-difference measure of variability from which the Gini "
        "concentration coefficient derives. It gives no minimum sample size.",
    ),
    Reference(
        "lorenz-1905",
        "Lorenz MO 1905. Methods of measuring the concentration of wealth. Publ. Am. Stat. "
        "Assoc. 9:209–219",
        "Introduces the Lorenz curve: cumulative share of wealth against cumulative share of "
        "the population.",
    ),
    # ---- gambling harm markers and regulation
    Reference(
        "braverman-shaffer-2012",
        "Braverman J, Shaffer HJ 2012. How do gamblers start gambling: identifying behavioural "
        "markers for high-risk internet gambling. Eur. J. Public Health 22:273–278 (online "
        "2010). doi:10.1093/eurpub/ckp232",
        "k-means clustering of the first month of real internet betting found a small "
        "high-risk cluster — frequent and intensive betting, high variability of wager size "
        "and increasing wager size — of whom 73 % later closed their accounts for "
        "gambling-related problems. It does not study loss chasing, night play or session "
        "length, and ranks no single predictor.",
    ),
    Reference(
        "finkenwirth-et-al-2021",
        "Finkenwirth S, MacDonald K, Deng X, Lesch T, Clark L 2021. Using machine learning to "
        "predict self-exclusion status in online gamblers on the PlayNow.com platform in "
        "British Columbia. Int. Gambl. Stud. 21:220–237. doi:10.1080/14459795.2020.1832132",
        "A random forest on 20 behavioural variables separated 2,157 self-excluders from "
        "17,526 controls with AUROC 0.75; the most important input was the variance of money "
        "bet per session. Whether time-of-day inputs were among the 20 is unverified here; it "
        "proposes no night-play threshold.",
    ),
    Reference(
        "lesieur-1984",
        "Lesieur HR 1984. The Chase: Career of the Compulsive Gambler. Schenkman "
        "(first published 1977; edition details unverified)",
        "Sociological study of compulsive gamblers describing 'chasing': gambling on to win "
        "back losses, as the central dynamic of a gambling career.",
    ),
    Reference(
        "zhang-clark-2020",
        "Zhang K, Clark L 2020. Loss-chasing in gambling behaviour: neurocognitive and "
        "behavioural economic perspectives. Curr. Opin. Behav. Sci. 31:1–7 (the article "
        "header reads 2019)",
        "Review: loss-chasing — amplifying betting to recoup prior losses, within or between "
        "sessions — is regarded as a defining feature of disordered gambling; it contrasts "
        "executive-control and behavioural-economic accounts.",
    ),
    Reference(
        "ukgc-2023",
        "UK Gambling Commission 2023. Customer interaction guidance for remote gambling "
        "licensees (formal guidance under SR Code Provision 3.4.3), issued August 2023, in "
        "effect from 31 October 2023",
        "Requires remote licensees to identify harm using a range of indicators including "
        "customer spend, patterns of spend, time spent gambling, gambling behaviour "
        "indicators, customer-led contact, use of gambling management tools and account "
        "indicators, and to act on them. It sets no numeric thresholds for these markers.",
    ),
    Reference(
        "eu-dsa-art25-2022",
        "European Union 2022. Regulation (EU) 2022/2065 (Digital Services Act), Article 25: "
        "Online interface design and organisation. OJ L 277, 27.10.2022 (OJ reference "
        "unverified)",
        "Providers of online platforms must not design or operate interfaces that deceive or "
        "manipulate recipients or materially distort their ability to make free and informed "
        "decisions; practices covered by the Unfair Commercial Practices Directive or the GDPR "
        "are excluded. It does not name random-reward mechanics.",
    ),
    # ---- discounting
    Reference(
        "mazur-1987",
        "Mazur JE 1987. An adjusting procedure for studying delayed reinforcement. In Commons "
        "ML, Mazur JE, Nevin JA, Rachlin H (eds), Quantitative Analyses of Behavior, Vol. 5, "
        "pp. 55–73. Erlbaum (pages unverified)",
        "An adjusting-delay procedure in pigeons whose indifference points are described by "
        "the hyperbola V = A / (1 + kD).",
    ),
    Reference(
        "madden-et-al-1997",
        "Madden GJ, Petry NM, Badger GJ, Bickel WK 1997. Impulsive and self-control choices in "
        "opioid-dependent patients and non-drug-using control participants: drug and monetary "
        "rewards. Exp. Clin. Psychopharmacol. 5:256–262. doi:10.1037/1064-1297.5.3.256",
        "Opioid-dependent participants discounted delayed hypothetical money more steeply than "
        "matched controls, and delayed heroin more steeply than money. It concerns opioid "
        "dependence, not gambling, and gives no threshold for k.",
    ),
)
