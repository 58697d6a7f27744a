"""GPU offload of sociallearn.engine.LlamaEngine, side by side with the CPU, on a GPU machine.

Usage: python -m benchmarks.gpu_check MODEL.gguf [--cpu-ref OUT.json] (llama-cpp-python built
with CUDA: CMAKE_ARGS="-DGGML_CUDA=on"). Results: benchmarks/results/gpu_check.json (H200).

Main mode: GPU engine (n_gpu_layers=-1) vs CPU engine (n_gpu_layers=0, same process, same CUDA
build: llama.cpp may still offload big-batch matmuls of host weights, op_offload) vs a pure-CPU
reference (a child process of this script with CUDA_VISIBLE_DEVICES="" and n_gpu_layers=0).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import traceback

import llama_cpp

from sociallearn.engine import LlamaEngine

SPAM = [
    "WINNER!! You have been selected to receive a $900 prize reward. Call 09061701461 to claim now.",
    "URGENT! Your mobile number has won a 2000 pound bonus. Text CLAIM to 81010 today.",
    "Free entry in 2 a wkly comp to win FA Cup final tkts. Text FA to 87121 to receive entry.",
    "Congratulations! You've won a free cruise to the Bahamas. Reply YES to book, T&Cs apply.",
    "Your account has been suspended. Verify your details at http://secure-bank-login.co now.",
    "Get 50% off all ringtones this week only! Text TONE to 85023. 150p/msg.",
    "You are awarded a Nokia phone. To claim call 0800 123 4567 before midnight.",
    "Cash loans approved in minutes, no credit check! Reply LOAN for instant money.",
    "Hot singles in your area want to chat! Text DATE to 69911 now. 18+ only, 1.50/min.",
    "FINAL NOTICE: you owe an unpaid toll fee. Pay now at tollpay-uk.info to avoid penalty.",
    "Claim your free iPhone 15 today! Only 3 left. Click bit.ly/fr33phone to order.",
    "Your parcel could not be delivered. Reschedule at dhl-redeliver.net, fee 1.99.",
    "XMAS OFFER: latest camera phones FREE! Call Mobile Update free on 08002986906.",
    "You have 1 new voicemail. Please call 09066362231 to retrieve. Calls cost 1/min.",
    "Lose 10kg in 2 weeks with our miracle pill! Order now, text SLIM to 80011.",
    "Dear customer, your reward points expire today. Redeem at points-redeem.biz.",
    "Txt STOP to opt out. Win a 1000 cash prize or a holiday worth 2000! Call 09050003091.",
    "PRIVATE! Your 2003 account statement shows 800 unredeemed bonus points. Call 08719899217.",
    "Had your mobile 11 months or more? You are entitled to an update to the latest colour phone for free!",
    "SIX chances to win CASH! From 100 to 20,000 pounds txt CSH11 and send to 87575.",
    "Guaranteed 1000 cash or 2000 prize. To claim yr prize call our customer service on 09066.",
    "You have won a guaranteed 200 award or even 1000 cashto claim UR award call free on 08000407165.",
    "Congrats! 1 year special cinema pass for 2 is yours. Call 09061209465 now!",
    "Want 2 get laid tonight? Want real dogging locations sent direct 2 ur mob? Join now.",
    "Your free ringtone is waiting to be collected. Simply text the password MIX to 85069.",
    "Bank alert: unusual sign-in detected. Confirm your identity at verify-acct-now.com.",
    "Earn 500 a day working from home! No experience needed. Reply JOB for details.",
    "IMPORTANT: your tax refund of 312.50 is ready. Claim at hmrc-refunds-online.org.",
    "You've been chosen for a free Tesco 500 gift card. Complete the survey at tsco-gift.co.",
    "Last chance! Subscribe to daily horoscopes for only 3 a week. Text STAR to 88888.",
    "Double your bitcoin in 24 hours, guaranteed! Send BTC to the wallet in our link.",
    "Your Netflix payment failed. Update billing at netflix-billing-help.com within 24h.",
    "Win a brand new car! Just answer one question: what colour is the sky? Text ANSWER to 89012.",
    "Ur awarded a City Break and could WIN a 200 Summer Shopping spree every WK. Txt STORE to 88039.",
    "Call FREEPHONE 0800 542 0578 now to claim your guaranteed 1000 cash prize!",
    "Exclusive VIP casino bonus: 100 free spins waiting for you. Play now at spinwin.club.",
    "Your mobile has been selected for a 500 Argos voucher. Call 0871 277 1212, 10p/min.",
    "Special offer for valued customers: unlimited texts for 1 a week. Reply YES.",
    "PHONE ALERT: a virus was detected on your device. Install the cleaner at fixphone.app.",
    "You have been pre-approved for a credit card with 0% APR. Apply in 60 seconds!",
    "Get paid to text! Earn 20p for every message you receive. Text EARN to 80880.",
    "Thanks for your subscription to Ringtone UK, your mobile will be charged 5/week.",
    "Reply with your bank details to receive the inheritance funds of 4.5 million dollars.",
    "HOT LIVE FANTASIES call now 08707509020 just 20p per min NTT Ltd.",
    "Free msg: we tried to contact you re your reply to our offer of a video handset.",
    "Amazon: your order is on hold. Confirm payment at amzn-orders-check.com.",
    "Your number won the national lottery draw. Send your name and address to claim.",
    "Dating service: someone you know fancies you! Call 09058098002 to find out who.",
    "Loan offer: borrow up to 10,000 today, bad credit OK. Text MONEY to 83332.",
    "Congratulations ur awarded 500 of CD vouchers or 125gift guaranteed & Free entry 2 100 wkly draw.",
]

HAM = [
    "Hey, are we still meeting for lunch at 1?",
    "I'll be home late tonight, don't wait up.",
    "Can you pick up some milk on your way back?",
    "Ok lar... Joking wif u oni...",
    "Sorry, I missed your call. Call you back in 10 minutes.",
    "Happy birthday! Hope you have a great day.",
    "Did you finish the report for tomorrow's meeting?",
    "I'm at the station now, where are you?",
    "Mum says dinner is at 7, bring the salad.",
    "Thanks for yesterday, I had a really good time.",
    "Nah I don't think he goes to usf, he lives around here though.",
    "What time does the movie start?",
    "Running 5 mins late, traffic is terrible.",
    "Can I borrow your charger tomorrow?",
    "Good luck with your exam today!",
    "The plumber is coming at 9 so I'll work from home.",
    "Let me know when you get there safely.",
    "Do you want pizza or Chinese tonight?",
    "I've sent you the photos from the weekend.",
    "Are you coming to football practice on Thursday?",
    "Don't forget to call grandma, it's her anniversary.",
    "I'm going to the gym, back in an hour.",
    "Can you send me the address of the party?",
    "My train got cancelled, I'll take the bus instead.",
    "Just woke up, what's the plan for today?",
    "I left my keys at your place, can I come get them?",
    "The kids loved the zoo, thanks for the tickets.",
    "Meeting moved to 3pm in room 204.",
    "How was your interview? Tell me everything.",
    "I'll transfer you the money for the concert tonight.",
    "Is it raining where you are? Should I bring an umbrella?",
    "Love you, see you after work.",
    "We need to book the hotel for the wedding soon.",
    "Your dad fixed the car, it's running fine now.",
    "Can you feed the cat while I'm away this weekend?",
    "Lecture cancelled today, prof is sick.",
    "I'm outside, come down when you're ready.",
    "That joke was so bad I laughed for ten minutes lol",
    "Where did you park? I can't find the car.",
    "Send me the recipe for that lasagne please.",
    "Ill call you later when I get off work.",
    "Yeah that's fine, see you Saturday then.",
    "Did you see the match last night? What a goal!",
    "I'm feeling a bit sick, might skip class tomorrow.",
    "Remember to bring your passport for the trip.",
    "Whats the wifi password again?",
    "We're out of coffee, can you grab some?",
    "Great job on the presentation today!",
    "Text me when you land.",
    "Sure, I can help you move on Sunday morning.",
]

FEW_SHOT = (
    "Classify each SMS message as spam (unsolicited advertising, prizes, scams) "
    "or ham (a normal personal message).\n\n"
    "Message: Free tickets! Call 0906 now to claim your reward.\nLabel: spam\n\n"
    "Message: Are you home yet? I'm making tea.\nLabel: ham\n\n"
    "Message: You have won a 1000 cash prize, text WIN to 80086.\nLabel: spam\n\n"
    "Message: See you at the cinema at 8.\nLabel: ham\n\n"
)
LABELS = [" spam", " ham"]
PROMPTS = [
    "The capital of France is",
    "Here is a short poem about the sea:\n",
    "Message: Congratulations, you won a prize!\nLabel:",
    "def fibonacci(n):\n",
]
SAMPLE_PROMPT = "Write a one-line reply to a friend who asked how your day was:\n"


def sh(*cmd: str) -> str:
    try:
        return subprocess.run(list(cmd), capture_output=True, text=True, timeout=60).stdout.strip()
    except Exception as exc:
        return f"<{cmd[0]} failed: {exc}>"


def texts() -> list[tuple[str, str]]:
    return [(t, "spam") for t in SPAM] + [(t, "ham") for t in HAM]


def score_all(engine: LlamaEngine) -> tuple[list[list[float]], float]:
    engine.score(FEW_SHOT + "Message: hi\nLabel:", LABELS)  # warm-up (and caches the few-shot)
    t0 = time.perf_counter()
    out = []
    for text, _ in texts():
        scores = engine.score(FEW_SHOT + f"Message: {text}\nLabel:", LABELS)
        out.append([s.logprob for s in scores])
    return out, time.perf_counter() - t0


def completions(engine: LlamaEngine) -> tuple[list[str], float]:
    t0 = time.perf_counter()
    out = [engine.complete(p, max_tokens=32, temperature=0.0) for p in PROMPTS]
    return out, time.perf_counter() - t0


def bench_generate(engine: LlamaEngine) -> dict:
    """Greedy 128-token completion: tokens/second."""
    t0 = time.perf_counter()
    text = engine.complete("Once upon a time,", max_tokens=128, temperature=0.0)
    dt = time.perf_counter() - t0
    n = engine.count_tokens(text)
    return {"tokens": n, "seconds": dt, "tokens_per_s": n / dt if dt else None}


def engine_report(n_gpu_layers: int, model: str) -> tuple[dict, LlamaEngine]:
    rep: dict = {"n_gpu_layers": n_gpu_layers}
    t0 = time.perf_counter()
    engine = LlamaEngine(model, n_gpu_layers=n_gpu_layers)
    rep["load_s"] = time.perf_counter() - t0
    rep["scores"], rep["score_s"] = score_all(engine)
    rep["completions"], rep["complete_s"] = completions(engine)
    rep["generate"] = bench_generate(engine)
    return rep, engine


def cpu_ref(model: str, out_path: str) -> None:
    rep: dict = {"CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES")}
    try:
        rep.update(engine_report(0, model)[0])
    except Exception:
        rep["error"] = traceback.format_exc()
    with open(out_path, "w") as f:
        json.dump(rep, f)


def compare(a: list[list[float]], b: list[list[float]]) -> dict:
    diffs = [abs(x - y) for ra, rb in zip(a, b, strict=True) for x, y in zip(ra, rb, strict=True)]
    arg_a = [int(r[1] > r[0]) for r in a]
    arg_b = [int(r[1] > r[0]) for r in b]
    disagree = [i for i, (x, y) in enumerate(zip(arg_a, arg_b, strict=True)) if x != y]
    return {
        "max_abs_logprob_diff": max(diffs),
        "mean_abs_logprob_diff": sum(diffs) / len(diffs),
        "argmax_agree_all": not disagree,
        "argmax_disagreements": disagree,
    }


def accuracy(scores: list[list[float]]) -> float:
    gold = [label for _, label in texts()]
    pred = ["ham" if r[1] > r[0] else "spam" for r in scores]
    return sum(p == g for p, g in zip(pred, gold, strict=True)) / len(gold)


def main() -> None:
    model = sys.argv[1]
    if len(sys.argv) > 3 and sys.argv[2] == "--cpu-ref":
        cpu_ref(model, sys.argv[3])
        return
    out_dir = os.environ.get("OUT", ".")
    result: dict = {"model": model, "n_texts": len(texts()), "errors": []}

    def section(name, fn):
        try:
            return fn()
        except Exception:
            tb = traceback.format_exc()
            print(f"!! {name} failed:\n{tb}", flush=True)
            result["errors"].append({name: tb})
            return None

    print(sh("nvidia-smi"), flush=True)
    result["nvidia_smi_gpu"] = sh(
        "nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"
    )
    result["llama_cpp_version"] = llama_cpp.__version__
    info = llama_cpp.llama_print_system_info()
    info = info.decode() if isinstance(info, bytes) else str(info)
    print("llama.cpp system info:", info, flush=True)
    result["system_info"] = info
    result["supports_gpu_offload"] = bool(llama_cpp.llama_supports_gpu_offload())
    print("llama_supports_gpu_offload:", result["supports_gpu_offload"], flush=True)
    assert result["supports_gpu_offload"], "llama.cpp was built without GPU offload"

    gpu = section("gpu_engine", lambda: engine_report(-1, model))
    gpu_engine = None
    if gpu:
        result["gpu"], gpu_engine = gpu
        apps = sh("nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader")
        result["gpu_compute_apps_after_gpu_load"] = apps
        result["my_pid"] = os.getpid()
        print(
            "GPU compute apps (pid, memory) with the GPU engine loaded:",
            apps,
            "my pid",
            os.getpid(),
        )
    cpu = section("cpu_engine_same_process", lambda: engine_report(0, model))
    if cpu:
        result["cpu"], _ = cpu
    # pure-CPU reference in a child without CUDA devices
    ref_path = "/tmp/cpu_ref.json"

    def run_ref():
        env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
        p = subprocess.run(
            [sys.executable, __file__, model, "--cpu-ref", ref_path],
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        with open(ref_path) as f:
            rep = json.load(f)
        rep["child_rc"] = p.returncode
        rep["child_stderr_tail"] = p.stderr[-1500:]
        return rep

    ref = section("cpu_ref_subprocess", run_ref)
    if ref:
        result["cpu_pure"] = ref

    # comparisons
    if gpu and cpu:
        result["gpu_vs_cpu"] = compare(result["gpu"]["scores"], result["cpu"]["scores"])
        result["gpu_vs_cpu"]["greedy_equal"] = [
            g == c
            for g, c in zip(result["gpu"]["completions"], result["cpu"]["completions"], strict=True)
        ]
    if gpu and ref and "scores" in ref:
        result["gpu_vs_cpu_pure"] = compare(result["gpu"]["scores"], ref["scores"])
        result["gpu_vs_cpu_pure"]["greedy_equal"] = [
            g == c for g, c in zip(result["gpu"]["completions"], ref["completions"], strict=True)
        ]
    if cpu and ref and "scores" in ref:
        result["cpu_vs_cpu_pure"] = compare(result["cpu"]["scores"], ref["scores"])
        result["cpu_vs_cpu_pure"]["greedy_equal"] = [
            g == c for g, c in zip(result["cpu"]["completions"], ref["completions"], strict=True)
        ]
    for key in ("gpu", "cpu", "cpu_pure"):
        if key in result and "scores" in result[key]:
            result[key]["accuracy"] = accuracy(result[key]["scores"])

    # batched sampling on the GPU engine
    def sampling() -> dict:
        assert gpu_engine is not None
        rep: dict = {}
        t0 = time.perf_counter()
        texts_ = gpu_engine.sample(SAMPLE_PROMPT, 8, temperature=0.7, seed=0, max_tokens=32)
        rep["sample_s"] = time.perf_counter() - t0
        rep["streams_exact"] = gpu_engine.sampler.check_streams()
        rep["samples"] = texts_
        # the contract: the texts of a loop of `complete` calls with seeds 0..7 (prompt cached)
        t0 = time.perf_counter()
        loop = [
            gpu_engine.complete(SAMPLE_PROMPT, max_tokens=32, temperature=0.7, seed=i)
            for i in range(8)
        ]
        rep["loop_s"] = time.perf_counter() - t0
        rep["loop_samples"] = loop
        rep["sample_equals_complete_loop"] = [a == b for a, b in zip(texts_, loop, strict=True)]
        rep["distinct_samples"] = len(set(texts_))
        return rep

    if gpu_engine is not None:
        s = section("gpu_sampling", sampling)
        if s:
            result["gpu_sampling"] = s

    # summary
    summary = {}
    if "gpu_vs_cpu" in result:
        summary["gpu_vs_cpu_max_abs_logprob_diff"] = result["gpu_vs_cpu"]["max_abs_logprob_diff"]
        summary["gpu_vs_cpu_argmax_agree_all"] = result["gpu_vs_cpu"]["argmax_agree_all"]
        summary["gpu_vs_cpu_greedy_equal"] = result["gpu_vs_cpu"]["greedy_equal"]
    if "gpu_vs_cpu_pure" in result:
        summary["gpu_vs_cpu_pure_max_abs_logprob_diff"] = result["gpu_vs_cpu_pure"][
            "max_abs_logprob_diff"
        ]
        summary["gpu_vs_cpu_pure_argmax_agree_all"] = result["gpu_vs_cpu_pure"]["argmax_agree_all"]
        summary["gpu_vs_cpu_pure_greedy_equal"] = result["gpu_vs_cpu_pure"]["greedy_equal"]
    for key in ("gpu", "cpu", "cpu_pure"):
        if key in result and "score_s" in result[key]:
            summary[f"{key}_score_100_s"] = result[key]["score_s"]
            summary[f"{key}_load_s"] = result[key]["load_s"]
            summary[f"{key}_complete4x32_s"] = result[key]["complete_s"]
            summary[f"{key}_gen_tok_per_s"] = result[key]["generate"]["tokens_per_s"]
            summary[f"{key}_accuracy"] = result[key]["accuracy"]
    if "gpu_sampling" in result:
        summary["gpu_streams_exact"] = result["gpu_sampling"]["streams_exact"]
        summary["gpu_sample_equals_loop"] = result["gpu_sampling"]["sample_equals_complete_loop"]
    summary["errors"] = len(result["errors"])
    result["summary"] = summary
    print(
        json.dumps(
            {k: v for k, v in result.items() if k not in ("gpu", "cpu", "cpu_pure")}, indent=1
        )
    )
    print("SUMMARY", json.dumps(summary, indent=1), flush=True)
    with open(os.path.join(out_dir, "gpu_check.json"), "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
