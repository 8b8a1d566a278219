"""The bibliography as data: one entry per work, with what the work actually shows.

Each `Reference` gives a full citation and, in `shows`, one or two sentences on what the work
reports — not what this project uses it for. Where a detail (a page, a chapter, a DOI) could not
be checked against the work or its abstract, the entry says "unverified" instead of guessing.
Thresholds that this project chose itself are not attributed to any of these works; the decision
table and the code comments say "threshold chosen by us" where that is the truth.

    cite("braverman-shaffer-2012")
    # "Braverman J, Shaffer HJ 2012. How do gamblers start gambling: ... Eur. J. Public
    #  Health 22:273–278 (online 2010). doi:10.1093/eurpub/ckp232: k-means clustering ..."
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

# lower-case words joined by hyphens, ending in the year: "braverman-shaffer-2012"
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*-(?:1[89]|20)[0-9]{2}$")
_LABEL = re.compile(r"^(.*?\b(?:1[89]|20)[0-9]{2})\. ")


@dataclass(frozen=True)
class Reference:
    """One cited work.

    key: short stable identifier ("author-author-year"), lower case and hyphens
    citation: authors, year, title, venue with volume:pages (or publisher / preprint server),
        DOI where known
    shows: what the work reports, in one or two sentences
    """

    key: str
    citation: str
    shows: str

    @property
    def short(self) -> str:
        """The author-year label: the citation up to its year."""
        match = _LABEL.match(self.citation)
        return match.group(1) if match else self.citation


_ENTRIES: tuple[Reference, ...] = (
    # ---- reward prediction errors and reinforcement learning
    Reference(
        "schultz-dayan-montague-1997",
        "Schultz W, Dayan P, Montague PR 1997. A neural substrate of prediction and reward. "
        "Science 275:1593–1599. doi:10.1126/science.275.5306.1593",
        "Primate midbrain dopamine neurons fire to unpredicted rewards, not to fully predicted "
        "ones, and dip when a predicted reward is omitted: a temporal-difference reward "
        "prediction error. Primate electrophysiology and theory; no data on products or people.",
    ),
    Reference(
        "fiorillo-tobler-schultz-2003",
        "Fiorillo CD, Tobler PN, Schultz W 2003. Discrete coding of reward probability and "
        "uncertainty by dopamine neurons. Science 299:1898–1902. doi:10.1126/science.1077349",
        "In monkeys, the phasic dopamine response to reward falls monotonically with reward "
        "probability (a prediction error that persists for probabilistic rewards), while a "
        "separate sustained response grows with uncertainty, maximal at p = 0.5.",
    ),
    Reference(
        "redish-2004",
        "Redish AD 2004. Addiction as a computational process gone awry. "
        "Science 306:1944–1947. doi:10.1126/science.1102384",
        "A temporal-difference model in which a drug adds a dopamine increase that learning "
        "cannot compensate over-selects drug-seeking actions. It concerns drugs; it does not "
        "claim that variable reward schedules keep prediction errors high.",
    ),
    Reference(
        "rescorla-wagner-1972",
        "Rescorla RA, Wagner AR 1972. A theory of Pavlovian conditioning: variations in the "
        "effectiveness of reinforcement and nonreinforcement. In Black AH, Prokasy WF (eds), "
        "Classical Conditioning II, pp. 64–99. Appleton-Century-Crofts (pages unverified)",
        "Associative strength changes in proportion to the discrepancy between the outcome and "
        "the summed prediction: the delta rule V ← V + α(r − V).",
    ),
    Reference(
        "sutton-barto-2018",
        "Sutton RS, Barto AG 2018. Reinforcement Learning: An Introduction, 2nd ed. MIT Press",
        "Textbook; §6.1 defines TD(0) prediction, δ = r + γV(s′) − V(s) (section number "
        "unverified against the printed edition).",
    ),
    Reference(
        "daw-kakade-dayan-2002",
        "Daw ND, Kakade S, Dayan P 2002. Opponent interactions between serotonin and dopamine. "
        "Neural Netw. 15:603–616",
        "A theoretical proposal: tonic serotonin reports the long-run average reward rate, tonic "
        "dopamine the average punishment rate, and phasic serotonin perhaps a prediction error "
        "for punishment, in an opponent (Solomon–Corbit) reinforcement-learning scheme.",
    ),
    Reference(
        "solomon-corbit-1974",
        "Solomon RL, Corbit JD 1974. An opponent-process theory of motivation: I. Temporal "
        "dynamics of affect. Psychol. Rev. 81:119–145. doi:10.1037/h0036128",
        "A primary affective process is followed by a slower opponent process that grows with "
        "repetition, so the after-reaction comes to dominate (e.g. skydivers, drug use).",
    ),
    Reference(
        "huys-pizzagalli-bogdan-dayan-2013",
        "Huys QJM, Pizzagalli DA, Bogdan R, Dayan P 2013. Mapping anhedonia onto reinforcement "
        "learning: a behavioural meta-analysis. Biol. Mood Anxiety Disord. 3:12. "
        "doi:10.1186/2045-5380-3-12",
        "Across six data sets (392 sessions of a probabilistic reward task), major depression "
        "and anhedonia reduced reward sensitivity more than learning rate, while a dopamine D2 "
        "agonist showed the opposite pattern. It defines no marker based on prediction-error "
        "balance.",
    ),
    Reference(
        "huys-et-al-2011",
        "Huys QJM, Cools R, Gölzer M, Friedel E, Heinz A, Dolan RJ, Dayan P 2011. Disentangling "
        "the roles of approach, activation and valence in instrumental and Pavlovian "
        "responding. PLoS Comput. Biol. 7:e1002028. doi:10.1371/journal.pcbi.1002028",
        "Reinforcement-learning models show Pavlovian influences that specifically promote "
        "approach to appetitive and withdrawal from aversive stimuli, and that subjects neglect "
        "losses in instrumental learning. Its hierarchical (EM) fitting procedure is not "
        "described in the abstract (unverified here).",
    ),
    Reference(
        "rutledge-et-al-2014",
        "Rutledge RB, Skandali N, Dayan P, Dolan RJ 2014. A computational and neural model of "
        "momentary subjective well-being. Proc. Natl Acad. Sci. USA 111:12252–12257. "
        "doi:10.1073/pnas.1407535111",
        "Momentary happiness in a probabilistic reward task is explained by recent reward "
        "expectations and prediction errors, not by cumulative earnings (replicated in 18,420 "
        "participants). It measures self-reported happiness, not engagement or continuation.",
    ),
    Reference(
        "lindstrom-et-al-2021",
        "Lindström B, Bellander M, Schultner DT, Chang A, Tobler PN, Amodio DM 2021. A "
        "computational reward learning account of social media engagement. Nat. Commun. "
        "12:1311. doi:10.1038/s41467-020-19607-x",
        "In over a million posts by more than 4,000 people, posting latency follows "
        "reward-learning principles (users space posts to maximise the average rate of likes, "
        "subject to effort and opportunity costs); an online experiment (n = 176) shows the "
        "effect is causal.",
    ),
    Reference(
        "wilson-et-al-2014",
        "Wilson RC, Geana A, White JM, Ludvig EA, Cohen JD 2014. Humans use directed and random "
        "exploration to solve the explore–exploit dilemma. J. Exp. Psychol. Gen. "
        "143:2074–2081. doi:10.1037/a0038199",
        "In the Horizon task, people seek more information and choose more variably when more "
        "choices remain, i.e. they use both directed and random exploration. It proposes no "
        "threshold of choice concentration.",
    ),
    Reference(
        "pathak-et-al-2017",
        "Pathak D, Agrawal P, Efros AA, Darrell T 2017. Curiosity-driven exploration by "
        "self-supervised prediction. Proc. ICML (volume and pages unverified)",
        "An intrinsic curiosity reward (the error of a learned forward model) lets artificial "
        "agents explore with sparse rewards. About machine agents, not human users.",
    ),
    Reference(
        "burda-et-al-2018",
        "Burda Y, Edwards H, Storkey A, Klimov O 2018. Exploration by random network "
        "distillation. arXiv:1810.12894 (author list unverified)",
        "An exploration bonus from the error of predicting a fixed random network's output "
        "improves artificial agents on hard-exploration games. About machine agents, not "
        "human users.",
    ),
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
    # ---- survival analysis and likelihood inference
    Reference(
        "kaplan-meier-1958",
        "Kaplan EL, Meier P 1958. Nonparametric estimation from incomplete observations. "
        "J. Am. Stat. Assoc. 53:457–481",
        "The product-limit estimator of a survival function from right-censored observations.",
    ),
    Reference(
        "cutler-ederer-1958",
        "Cutler SJ, Ederer F 1958. Maximum utilization of the life table method in analyzing "
        "survival. J. Chronic Dis. 8:699–712",
        "The actuarial life table, in which cases withdrawn during an interval count as half "
        "an interval at risk.",
    ),
    Reference(
        "allison-1982",
        "Allison PD 1982. Discrete-time methods for the analysis of event histories. "
        "Sociol. Methodol. 13:61–98",
        "Event histories in discrete time: the hazard as the conditional probability of an "
        "event in a period given survival to it, estimated with censored spells included. It "
        "gives no minimum number of observations per hazard.",
    ),
    Reference(
        "venzon-moolgavkar-1988",
        "Venzon DJ, Moolgavkar SH 1988. A method for computing profile-likelihood-based "
        "confidence intervals. Appl. Stat. 37:87–94",
        "Confidence intervals {β : ℓ̂ − ℓ_p(β) ≤ χ²₁(1−α)/2} from the profile likelihood, and "
        "an algorithm for their end points.",
    ),
    Reference(
        "pawitan-2001",
        "Pawitan Y 2001. In All Likelihood: Statistical Modelling and Inference Using "
        "Likelihood. Oxford University Press",
        "Textbook of likelihood inference, including likelihood-based (profile) intervals "
        "(the section numbers cited in this project are unverified).",
    ),
    Reference(
        "royall-1997",
        "Royall R 1997. Statistical Evidence: A Likelihood Paradigm. Chapman & Hall",
        "Argues that the likelihood ratio measures the strength of evidence for one "
        "hypothesis over another; the benchmarks of 8 ('fairly strong') and 32 ('strong') "
        "are recalled from the book, not checked here.",
    ),
    Reference(
        "wilks-1938",
        "Wilks SS 1938. The large-sample distribution of the likelihood ratio for testing "
        "composite hypotheses. Ann. Math. Stat. 9:60–62 (not checked by search)",
        "Twice the log likelihood ratio of nested models is asymptotically χ² with degrees of "
        "freedom equal to the number of restricted parameters.",
    ),
    Reference(
        "wald-1943",
        "Wald A 1943. Tests of statistical hypotheses concerning several parameters when the "
        "number of observations is large. Trans. Am. Math. Soc. 54:426–482 (not checked by "
        "search)",
        "The large-sample test based on the estimate divided by its standard error (the Wald "
        "test). This project's b_δ p-value is a profile likelihood ratio, not a Wald test.",
    ),
    Reference(
        "benjamini-hochberg-1995",
        "Benjamini Y, Hochberg Y 1995. Controlling the false discovery rate: a practical and "
        "powerful approach to multiple testing. J. R. Stat. Soc. B 57:289–300 (not checked by "
        "search)",
        "The step-up procedure rejecting the k smallest of m p-values, k the largest with "
        "p₍ₖ₎ ≤ kq/m, controls the expected share of false discoveries at q for independent "
        "tests.",
    ),
    Reference(
        "welch-1947",
        "Welch BL 1947. The generalization of 'Student's' problem when several different "
        "population variances are involved. Biometrika 34:28–35 (not checked by search)",
        "A t-test of two means with unequal variances and approximate degrees of freedom.",
    ),
    Reference(
        "davies-1987",
        "Davies RB 1987. Hypothesis testing when a nuisance parameter is present only under "
        "the alternative. Biometrika 74:33–43",
        "When a parameter exists only under the alternative, the usual χ² theory of the "
        "likelihood ratio fails; gives bounds for the supremum statistic.",
    ),
    Reference(
        "hanley-lippman-hand-1983",
        "Hanley JA, Lippman-Hand A 1983. If nothing goes wrong, is everything all right? "
        "Interpreting zero numerators. JAMA 249:1743–1745 (volume and pages unverified)",
        "The 'rule of three': with no events in n trials the 95 % upper bound of the risk is "
        "about 3/n.",
    ),
    Reference(
        "ayer-et-al-1955",
        "Ayer M, Brunk HD, Ewing GM, Reid WT, Silverman E 1955. An empirical distribution "
        "function for sampling with incomplete information. Ann. Math. Stat. 26:641–647",
        "The pool-adjacent-violators construction of a monotone maximum-likelihood estimate.",
    ),
    Reference(
        "robertson-wright-dykstra-1988",
        "Robertson T, Wright FT, Dykstra RL 1988. Order Restricted Statistical Inference. Wiley",
        "Isotonic regression and likelihood-ratio tests under order restrictions, whose null "
        "distributions are chi-bar-squared mixtures (chapter numbers cited in this project "
        "unverified).",
    ),
    # ---- calibration of stated probabilities
    Reference(
        "zadrozny-elkan-2002",
        "Zadrozny B, Elkan C 2002. Transforming classifier scores into accurate multiclass "
        "probability estimates. Proc. 8th ACM SIGKDD Int. Conf. Knowledge Discovery and Data "
        "Mining (KDD 2002), pp. 694–699. doi:10.1145/775047.775151",
        "Maps a classifier's scores to calibrated class probabilities by isotonic regression "
        "(pool-adjacent-violators) of the observed outcome on the score, for any classifier "
        "that ranks examples, and combines calibrated two-class estimates into multiclass "
        "ones; tested on naive Bayes and support vector machine scores.",
    ),
    Reference(
        "degroot-fienberg-1983",
        "DeGroot MH, Fienberg SE 1983. The comparison and evaluation of forecasters. J. R. "
        "Stat. Soc. D (The Statistician) 32:12–22. doi:10.2307/2987588",
        "Defines when a probability forecaster is well calibrated (of the events forecast at "
        "probability p, a share p occurs) and how calibration and refinement relate to proper "
        "scoring rules, for forecasters who repeatedly state probabilities of events.",
    ),
    Reference(
        "wilson-1927",
        "Wilson EB 1927. Probable inference, the law of succession, and statistical inference. "
        "J. Am. Stat. Assoc. 22:209–212. doi:10.1080/01621459.1927.10502953",
        "The score interval for a binomial proportion, obtained by inverting the normal test "
        "at the hypothesised proportion; unlike the Wald interval it stays inside [0, 1] and "
        "is not degenerate at 0 or n successes.",
    ),
    Reference(
        "breslow-day-1980",
        "Breslow NE, Day NE 1980. Statistical Methods in Cancer Research, Vol. I: The Analysis "
        "of Case-Control Studies. IARC Sci. Publ. 32",
        "Classical stratified (Mantel–Haenszel) analysis of grouped data (the chapter cited in "
        "this project is unverified).",
    ),
    Reference(
        "vaupel-manton-stallard-1979",
        "Vaupel JW, Manton KG, Stallard E 1979. The impact of heterogeneity in individual "
        "frailty on the dynamics of mortality. Demography 16:439–454",
        "Unobserved differences in individual risk make the pooled hazard fall over time even "
        "when each individual's hazard does not.",
    ),
    # ---- computation and model fitting
    Reference(
        "wilson-collins-2019",
        "Wilson RC, Collins AGE 2019. Ten simple rules for the computational modeling of "
        "behavioral data. eLife 8:e49547. doi:10.7554/eLife.49547",
        "Rules: 1 design a good experiment; 2 design good models; 3 simulate, simulate, "
        "simulate; 4 fit the parameters; 5 check that you can recover your parameters; 6 can "
        "you arbitrate between different models?; 7 run the experiment and analyze the actual "
        "data; 8 validate (at least) the winning model; 9 analyze the winning model; 10 report "
        "model-based analyses. No rule sets a minimum number of participants.",
    ),
    Reference(
        "ahn-haines-zhang-2017",
        "Ahn W-Y, Haines N, Zhang L 2017. Revealing neurocomputational mechanisms of "
        "reinforcement learning and decision-making with the hBayesDM package. Comput. "
        "Psychiatry 1:24–57. doi:10.1162/CPSY_a_00002",
        "An R package of hierarchical Bayesian models of decision tasks, among them the "
        "two-armed bandit delta-rule model with softmax choice (bandit2arm_delta).",
    ),
    Reference(
        "erev-et-al-2010",
        "Erev I, Ert E, Roth AE and others 2010. A choice prediction competition: choices from "
        "experience and from description. J. Behav. Decis. Mak. 23:15–47 (not checked by "
        "search)",
        "A competition for predicting choices between gambles learned from experience or read "
        "from description; source of the task behind hBayesDM's two-armed bandit.",
    ),
    Reference(
        "bertsekas-1982",
        "Bertsekas DP 1982. Projected Newton methods for optimization problems with simple "
        "constraints. SIAM J. Control Optim. 20:221–246 (not checked by search)",
        "Newton steps projected onto box constraints, with the active set of bound variables "
        "whose gradient points outward held fixed.",
    ),
    Reference(
        "nocedal-wright-2006",
        "Nocedal J, Wright SJ 2006. Numerical Optimization, 2nd ed. Springer, New York. "
        "doi:10.1007/978-0-387-40065-5",
        "Textbook of continuous optimisation; ch. 3 treats line-search methods: the sufficient "
        "decrease (Armijo) condition, backtracking, and global convergence of Newton's method "
        "with a line search where the Hessian is modified to stay positive definite.",
    ),
    Reference(
        "boyd-vandenberghe-2004",
        "Boyd S, Vandenberghe L 2004. Convex Optimization. Cambridge University Press. "
        "doi:10.1017/CBO9780511804441",
        "Textbook of convex optimisation; §9.5 gives Newton's method with backtracking line "
        "search and the Newton decrement λ² = gᵀH⁻¹g, with λ²/2 an estimate of the distance of "
        "the objective from its optimum, as the stopping criterion.",
    ),
    Reference(
        "brent-1973",
        "Brent RP 1973. Algorithms for Minimization without Derivatives. Prentice-Hall, "
        "Englewood Cliffs, NJ (chapter numbers unverified)",
        "One-dimensional minimisation combining successive parabolic interpolation with "
        "golden-section steps inside a bracket, which keeps the golden section's guaranteed "
        "convergence and the parabola's speed near a smooth optimum.",
    ),
    Reference(
        "blelloch-1990",
        "Blelloch GE 1990. Prefix sums and their applications. Tech. Rep. CMU-CS-90-190, "
        "Carnegie Mellon University",
        "Parallel scans of any associative operator in logarithmic depth, including "
        "first-order linear recurrences.",
    ),
    Reference(
        "steele-lea-flood-2014",
        "Steele GL, Lea D, Flood CH 2014. Fast splittable pseudorandom number generators. "
        "Proc. OOPSLA 2014, pp. 453–472 (pages unverified)",
        "SplitMix, whose 64-bit output finaliser (a xor-shift-multiply mix) is widely reused "
        "as a hash.",
    ),
)

REFERENCES: Mapping[str, Reference] = MappingProxyType({r.key: r for r in _ENTRIES})


def cite(key: str) -> str:
    """The citation and what the work shows: "Authors Year. Title. Venue: shows".

    Raises KeyError for an unknown key, so a mistyped key fails loudly instead of citing
    nothing.
    """
    ref = REFERENCES[key]
    return f"{ref.citation}: {ref.shows}"
