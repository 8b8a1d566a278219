"""Works on survival analysis, likelihood inference and the calibration of stated
probabilities."""

from __future__ import annotations

from models.references.reference import Reference

STATISTICS: tuple[Reference, ...] = (
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
)
