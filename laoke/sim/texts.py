"""Words the simulated systems use: models, colours, complaint texts, parts, notes."""

from __future__ import annotations

MODELS: dict[str, tuple[int, int]] = {
    # model: (list price low, high) in CNY
    "CT4": (229_900, 259_900),
    "CT5": (279_900, 339_900),
    "CT6": (379_900, 499_900),
    "XT4": (259_900, 309_900),
    "XT5": (339_900, 439_900),
    "XT6": (419_900, 529_900),
    "LYRIQ": (339_900, 439_900),
}
COLOURS = ("黑色", "白色", "银色", "灰色", "红色", "蓝色")

COMPLAINTS: dict[str, str] = {
    "product_quality": "新车行驶不到一个月，仪表盘频繁报警，发动机故障灯亮。",
    "misleading_advertising": "销售承诺的原厂配置和实际交付的不一致，宣传与实物不符。",
    "unsatisfying_goods": "更换的配件质量很差，装上没几天就坏了。",
    "unsatisfying_service": "保养后车里很脏，座椅上有油渍，服务态度冷淡。",
    "not_listening": "我说了三次异响的位置，顾问根本没听，直接按常规保养处理。",
    "broken_promise": "说好下午五点交车，结果七点半才好，也没人通知我。",
    "delay_buck_passing": "问题拖了两周没人处理，售后说找销售，销售说找厂家。",
    "incompetent_staff": "技师连故障码都看不懂，修了两次还是同样的问题。",
    "slow_remedy": "答应的补偿一个月了还没兑现，每次打电话都说在走流程。",
    "arrogance": "前台接待态度傲慢，说我不懂车，不耐烦地打断我说话。",
    "other": "停车场收费不合理，来保养还要自己付停车费。",
}
CATEGORIES: tuple[str, ...] = tuple(COMPLAINTS)

WANTED = {
    "apology": "希望店里正式道歉，以后改进",
    "repair": "尽快免费修好",
    "replace": "更换新的配件或车辆",
    "refund": "退还相关费用",
}
APOLOGY = "非常抱歉给您带来不好的体验，感谢您告诉我们，我们一定尽快处理。"

SCOPE_ITEMS = ("前刹车片", "后刹车片", "空调滤芯", "蓄电池", "雨刮片", "轮胎", "火花塞", "刹车油")
SMALL_ITEMS = ("脚垫", "行车记录仪", "车衣", "香薰", "玻璃水", "儿童座椅", "车载充电器", "雨刮")

SOURCE_NOTES = {
    "friends": "朋友介绍到店",
    "events": "参加车主俱乐部活动",
    "non_business": "非业务关系介绍（同学、邻居）",
    "cold_visit": "自然到店",
    "other": "网络广告留资",
}
CHURN_NOTES = {
    "death_bankruptcy": "家属告知：客户已无法继续用车",
    "moved": "客户已搬到外地",
    "friends": "客户说朋友在别的店，以后去那边",
    "competitors": "客户已在竞品店保养",
    "quality": "客户对车辆质量失望，不再来店",
}
