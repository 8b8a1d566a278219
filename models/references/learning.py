"""Works on reward prediction errors and reinforcement learning."""

from __future__ import annotations

from models.references.reference import Reference

LEARNING: tuple[Reference, ...] = (
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
)
