"""Works on computation and model fitting."""

from __future__ import annotations

from models.references.reference import Reference

COMPUTATION: tuple[Reference, ...] = (
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
