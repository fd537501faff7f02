"""`manage.py seed_demo`: a believable demo committee (政协台州市黄岩区委员会) with about 60
members, their constituents and engagements, and about 300 cases in every stage and branch of
DOMAIN.md §3.

Every case is driven through `workflows.actions`, so the viewflow tasks, the stage clocks and the
audit chain are the real ones. The history is spread over the past months: while seeding, the
clock the domain reads (`django.utils.timezone.now`) is set to each step's planned moment, so a
case filed in spring was decided in spring and its clocks and audit events say so.

The content is deterministic (fixed random seed); only the passwords are random. The whole seed
is one transaction, and a second run finds the district organisation and does nothing."""

from __future__ import annotations

import os
import random
import secrets
import string
import sys
import time as walltime
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.apps import apps
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from casework.choices import (
    CaseStatus,
    EngagementChannel,
    EngagementMethod,
    EngagementPurpose,
    FeedbackMethod,
    OrgLevel,
    OutputType,
    RedirectChannel,
    Role,
    Satisfaction,
    ServiceKind,
    Urgency,
)
from casework.models import (
    Case,
    CaseCategory,
    Committee,
    Contact,
    Department,
    Engagement,
    Member,
    Organisation,
    Output,
    RejectReason,
    RosterEntry,
    Sector,
    ServiceRecord,
    Session,
    Term,
    Township,
    User,
)
from casework.services.audit import audit_checkpoint
from workflows import actions, engine

SHANGHAI = ZoneInfo("Asia/Shanghai")
SEED = 20231101  # the seed's opinion is from 2023; any fixed number would do
SETUP_AT = datetime(2021, 12, 28, 9, 30, tzinfo=SHANGHAI)  # accounts and rosters: the term's start

PROVINCE_NAME = "政协浙江省委员会"
CITY_NAME = "政协浙江省台州市委员会"
DISTRICT_NAME = "政协台州市黄岩区委员会"

# ---------------------------------------------------------------------------------------------
# The committee's world
# ---------------------------------------------------------------------------------------------

TOWNSHIPS = [
    "东城街道",
    "西城街道",
    "南城街道",
    "北城街道",
    "新前街道",
    "江口街道",
    "高桥街道",
    "澄江街道",
    "院桥镇",
    "沙埠镇",
    "头陀镇",
    "北洋镇",
    "宁溪镇",
    "屿头乡",
    "上郑乡",
    "富山乡",
    "平田乡",
    "上垟乡",
    "茅畲乡",
]
URBAN = TOWNSHIPS[:8]
MOUNTAIN = ["宁溪镇", "屿头乡", "上郑乡", "富山乡", "平田乡", "上垟乡", "茅畲乡", "北洋镇", "头陀镇"]
ORANGE = ["头陀镇", "北洋镇", "澄江街道", "院桥镇", "沙埠镇", "新前街道", "高桥街道"]
BAYBERRY = ["沙埠镇", "北洋镇", "院桥镇", "宁溪镇", "头陀镇"]
RURAL = TOWNSHIPS[5:]

# (name, committee it is mapped to; None = the default intake committee)
COMMITTEES = [
    ("提案委员会", "ta"),
    ("经济委员会", "jj"),
    ("社会和法制委员会", "sf"),
    ("文化文史和学习委员会", "wh"),
    ("委员工作委员会", "wg"),
]
DEFAULT_INTAKE = "委员工作委员会"
STAFF_PER_COMMITTEE = {"ta": 2, "jj": 2, "sf": 3, "wh": 2, "wg": 2}

CATEGORIES = [
    ("交通出行", "社会和法制委员会"),
    ("教育教学", "文化文史和学习委员会"),
    ("医疗卫生", "社会和法制委员会"),
    ("养老托育", "社会和法制委员会"),
    ("城乡建设", "经济委员会"),
    ("生态环境", "经济委员会"),
    ("农业农村", "经济委员会"),
    ("产业发展", "经济委员会"),
    ("文化旅游", "文化文史和学习委员会"),
    ("平安法治", "社会和法制委员会"),
    ("就业社保", "社会和法制委员会"),
    ("政策建议", "提案委员会"),
    ("其他", None),
]

REJECT_REASONS = [
    ("属个人诉求，不宜转化为履职成果", True),
    ("已进入诉讼、仲裁等法定程序", True),
    ("反映内容不实或无法核实", True),
    ("已有明确政策规定并已答复群众", True),
    ("不属于政协履职范围", True),
    ("重复反映（已停用，改用合并）", False),
]

DEPARTMENTS = [
    ("区教育局", "jyj"),
    ("区交通运输局", "jtj"),
    ("区卫健局", "wjj"),
    ("区住建局", "zjj"),
    ("区农业农村局", "nyj"),
    ("区市场监管局", "scj"),
    ("区民政局", "mzj"),
    ("区人力社保局", "rsj"),
    ("区生态环境分局", "sthj"),
    ("区水利局", "slj"),
    ("区文化和广电旅游体育局", "wgl"),
    ("区经信局", "jxj"),
    ("区综合行政执法局", "zfj"),
    ("区应急管理局", "yjj"),
    ("区自然资源和规划分局", "zrzy"),
    ("区残联", "cl"),
]
LIAISON_DEPARTMENTS = ["jyj", "jtj", "wjj", "zjj", "nyj", "mzj"]

# (sector, preferred case categories, workplaces of its constituents)
SECTORS = [
    ("中共界", ["平安法治", "城乡建设", "政策建议"], ["{village}党支部", "{town}机关", "{town}综治中心", "区级机关"]),
    (
        "经济界",
        ["产业发展", "城乡建设", "交通出行"],
        ["黄岩模具企业", "{town}塑料制品厂", "区经济开发区企业", "{town}物流公司"],
    ),
    ("教育界", ["教育教学", "养老托育", "交通出行"], ["{school}", "{tshort}中学", "{tshort}幼儿园", "区职业技术学校"]),
    ("医药卫生界", ["医疗卫生", "养老托育"], ["区第一人民医院", "区中医院", "{tshort}卫生院", "{village}卫生室"]),
    (
        "农业界",
        ["农业农村", "生态环境"],
        ["{tshort}蜜橘专业合作社", "{village}家庭农场", "{tshort}茭白合作社", "杨梅种植户"],
    ),
    ("科技界", ["产业发展", "农业农村"], ["区农技推广中心", "{town}科技型企业", "黄岩模具研究院", "区科协"]),
    ("文化艺术界", ["文化旅游", "教育教学"], ["黄岩乱弹剧团", "{village}文化礼堂", "区书画协会", "翻簧竹雕工作室"]),
    (
        "社会福利和社会保障界",
        ["养老托育", "就业社保"],
        ["{town}居家养老服务中心", "区残疾人之家", "{town}社工站", "区慈善总会"],
    ),
    ("工商联界", ["产业发展", "就业社保"], ["{tshort}商会", "个体工商户", "{town}民营企业", "区青年企业家协会"]),
    ("无党派界", ["平安法治", "政策建议", "生态环境"], ["律师事务所", "会计师事务所", "台州学院", "区图书馆"]),
    ("民主党派界", ["政策建议", "医疗卫生", "生态环境"], ["区人民医院", "{town}企业", "区实验中学", "区社科联"]),
    (
        "妇联界",
        ["养老托育", "教育教学", "就业社保"],
        ["{village}妇女之家", "巾帼志愿服务队", "{town}家政服务公司", "区妇联"],
    ),
]
MEMBERS_PER_SECTOR = 5  # 12 sectors: 60 members

SURNAMES = "王陈林李张黄徐周吴杨金蒋潘郑朱梁叶牟陶颜应邵罗卢章泮程何赵许王陈林李张黄徐周吴杨金蒋潘郑朱"
GIVEN = (
    "建国伟明海军华平强勇杰磊斌涛超鹏辉俊浩宇晨凯文志永德峰红丽芳燕敏静霞娟婷雪琳洁慧颖倩佳欣怡萍英玲"
    "春秋秀云林森晓亚锋荣洪仁新光庆立帅彬瑶蕾雯婕琪航远翔韬阳昊桂兰凤美霖璐菁"
)
FAMOUS = {"朱德", "李鹏", "王震", "陈云", "林彪", "周扬", "李林", "张勇"}  # the generator avoids these
VILLAGE_A = "上下前后东西南北新大小长高沙石王林潘黄朱金蒋横山"
VILLAGE_B = "洋岙浦桥岸塘山溪湾坑头店屿岭垟田湖园里宅"
COMMUNITY = [
    "锦江",
    "永宁",
    "天长",
    "劳动",
    "桔乡",
    "九峰",
    "双江",
    "新江",
    "凤凰",
    "城关",
    "樊川",
    "橘香",
    "翠屏",
    "青年",
    "环城",
    "南浦",
    "北院",
    "东浦",
    "官河",
    "江城",
]
RIVERS = ["永宁江", "西江", "南官河", "东官河", "江口河", "澄江"]
ROADS = ["劳动北路", "天长南路", "环城东路", "二环西路", "青年路", "县前街", "北院大道", "西城大道"]

SESSIONS = [
    (1, "第一次会议", date(2021, 12, 27)),
    (2, "第二次会议", date(2023, 1, 5)),
    (3, "第三次会议", date(2024, 1, 8)),
    (4, "第四次会议", date(2025, 1, 7)),
    (5, "第五次会议", date(2026, 1, 6)),
]

# ---------------------------------------------------------------------------------------------
# What constituents raise. {town} {tshort} {village} {community} {school} {river} {road} are
# filled per case; `phrase` names the output that gathers cases of the theme.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Theme:
    key: str
    category: str
    title: str
    situations: tuple[str, ...]
    suggestions: tuple[str, ...]
    phrase: str = ""
    dept: str = ""
    towns: tuple[str, ...] = tuple(TOWNSHIPS)
    resolution: str = ""  # small matters: how staff resolved it directly
    channel: str = ""  # personal matters: where they are redirected
    reason: int = -1  # personal matters: index of the reject reason


def _t(towns: list[str]) -> tuple[str, ...]:
    return tuple(towns)


POLICY_THEMES = [
    Theme(
        "school_traffic",
        "交通出行",
        "{school}上下学时段校门口交通拥堵",
        (
            "每天早上7点20分至7点50分、下午4点前后，接送学生的电动车、私家车在{school}门口两侧随意停放，占用机动车道，"
            "家长和学生混行，存在较大安全隐患。",
            "{school}门口道路仅双向两车道，放学时段车辆排队一直延伸到{road}，周边居民出行受到影响，家长反映每天接孩子要等二三十分钟。",
        ),
        (
            "建议在上下学高峰增设护学岗，划定临时停车泊位，推行错峰放学。",
            "建议交警、学校和{town}共同设置“即停即走”接送区，并在周边增设限速和警示标志。",
        ),
        "破解校园周边交通拥堵难题",
        "区交通运输局",
    ),
    Theme(
        "rural_road",
        "交通出行",
        "{village}通村公路路面破损、会车困难",
        (
            "{village}至{tshort}集镇的通村公路建成已十余年，路面多处坑洼、边坡塌陷，路宽仅3.5米，农用车和校车会车困难，雨天积水严重。",
            "近年来运输蜜橘、建材的重型车辆增多，{village}村道路面开裂、沉降，夜间没有路灯，老人骑车出行存在安全隐患。",
        ),
        (
            "建议将该路段纳入“四好农村路”提升改造计划，增设错车道和路灯。",
            "建议交通部门和{town}联合排查路况，限制超载车辆通行并尽快修复破损路面。",
        ),
        "推进“四好农村路”提质扩面",
        "区交通运输局",
        _t(RURAL),
    ),
    Theme(
        "bus",
        "交通出行",
        "{town}至城区公交班次少、末班车过早",
        (
            "目前{town}至城区公交约40分钟一班，末班车17点30分发车，在城区上班、就读的群众晚上无法乘公交返回，只能打车或骑电动车往返。",
            "{village}一带村民到区第一人民医院就医需转乘两趟公交，候车时间长，老年人出行十分不便。",
        ),
        (
            "建议根据客流优化线路，增加早晚高峰班次，延长末班车时间。",
            "建议试点预约响应式公交，方便山区老人就医、赶集。",
        ),
        "提升城乡公交一体化服务水平",
        "区交通运输局",
        _t(RURAL),
    ),
    Theme(
        "parking",
        "交通出行",
        "{town}{community}周边停车难问题突出",
        (
            "{community}周边道路狭窄，小区建成年代早、没有配建停车位，夜间车辆沿街停放，消防通道经常被堵。",
            "{road}沿线商铺集中，白天停车位周转慢，乱停车引发的纠纷时有发生。",
        ),
        (
            "建议挖掘边角地、闲置地建设公共停车场，推行机关单位停车位错时共享。",
            "建议完善停车收费分时段定价，增设立体停车设施。",
        ),
        "缓解老城区停车难",
        "区住建局",
        _t(URBAN),
    ),
    Theme(
        "home_elderly",
        "养老托育",
        "{town}居家养老服务中心服务项目单一、利用率不高",
        (
            "{town}居家养老服务照料中心建成后，目前只提供棋牌、阅览等活动，助餐、助浴、康复等老人最需要的服务开展不多，平日前来的老人不到十人。",
            "辖区80岁以上老人较多，不少子女在外务工，老人反映生病时无人照料，希望能提供上门服务。",
        ),
        (
            "建议引入专业养老服务机构运营，拓展助餐、助医、上门照护等服务，并将服务情况纳入考核。",
            "建议发展“时间银行”等互助养老模式，动员低龄老人和志愿者参与。",
        ),
        "提升居家养老服务质效",
        "区民政局",
    ),
    Theme(
        "canteen",
        "养老托育",
        "{village}老年食堂运营资金紧张、难以为继",
        (
            "{village}办起的老年食堂每餐只收老人5元，靠村集体补贴维持，今年补贴减少后食堂已两次提价，部分老人不再来吃。",
            "老年食堂由村里志愿者轮流做饭，人手不稳定，遇到农忙时节经常停伙，老人吃饭没有保障。",
        ),
        ("建议完善老年食堂运营补助政策，鼓励企业、乡贤结对帮扶，探索“中央厨房+配送”模式。",),
        "推动老年助餐服务可持续发展",
        "区民政局",
        _t(RURAL),
    ),
    Theme(
        "childcare",
        "养老托育",
        "{town}婴幼儿托育机构少、收费高",
        (
            "辖区0至3岁婴幼儿托育机构只有1家，每月收费在3000元以上，双职工家庭反映“送不起、送不进”。",
            "不少年轻父母在工业园区上班，孩子只能交给老人照看，隔代养育压力大，影响生育意愿。",
        ),
        ("建议支持幼儿园开设托班，发展普惠托育，落实托育机构场地和运营补贴政策。",),
        "发展普惠托育服务",
        "区卫健局",
    ),
    Theme(
        "elevator",
        "城乡建设",
        "{community}老旧小区加装电梯推进难",
        (
            "{community}多为上世纪90年代建成的多层住宅，居住着大量老年人，加装电梯意愿强烈，但因低层住户反对、费用分摊难以达成一致，至今仅完成1台。",
            "部分单元已达成加装意向，但管线迁移、审批手续繁琐，从申请到开工要大半年时间。",
        ),
        ("建议完善加装电梯费用分摊指导标准，发挥社区调解作用，推行审批“一件事”联办。",),
        "加快老旧小区加装电梯",
        "区住建局",
        _t(URBAN),
    ),
    Theme(
        "water_supply",
        "城乡建设",
        "{village}自来水水压不足、用水高峰时段断水",
        (
            "{village}地势较高，每到夏季用水高峰，早晚时段三楼以上住户基本没有水，村民只能用水桶接水。",
            "{village}供水管网铺设于二十年前，管道老化、漏损严重，经常停水检修。",
        ),
        ("建议将该村纳入城乡供水一体化改造，增设加压泵站，更换老旧管网。",),
        "推进城乡供水一体化",
        "区水利局",
        _t(RURAL),
    ),
    Theme(
        "river",
        "生态环境",
        "{river}{tshort}段水质变差、岸边垃圾较多",
        (
            "近期{river}{tshort}段河面出现漂浮物，部分河段有异味，沿岸仍有零星养殖和生活污水直排现象。",
            "河道两侧堆放建筑垃圾和生活垃圾，汛期容易堵塞河道，群众反映河长公示牌上的电话打不通。",
        ),
        (
            "建议加强河道巡查和截污纳管，压实河长制责任，定期开展河道清淤保洁。",
            "建议在重点河段安装水质在线监测设备，公开监测数据，接受群众监督。",
        ),
        "加强河道水环境综合治理",
        "区生态环境分局",
    ),
    Theme(
        "garbage",
        "生态环境",
        "{village}农村生活垃圾分类流于形式",
        (
            "{village}虽然配备了分类垃圾桶，但收运时又混在一起，村民认为“分了也白分”，参与积极性下降。",
            "垃圾分类督导员由保洁员兼任，报酬低、人手少，分类准确率不高。",
        ),
        ("建议完善分类收运体系，落实“分类投放、分类收运、分类处置”，推行积分兑换激励。",),
        "提升农村生活垃圾分类实效",
        "区综合行政执法局",
        _t(RURAL),
    ),
    Theme(
        "orange_sales",
        "农业农村",
        "{tshort}黄岩蜜橘销售难、收购价偏低",
        (
            "{village}的种植户反映，今年蜜橘丰产，但收购商压价，收购价每斤不到1元，扣除人工、农资成本后基本不赚钱。",
            "橘农普遍年龄偏大，不会做直播、开网店，销售渠道主要依赖上门收购商，品牌溢价难以体现。",
        ),
        ("建议加大“黄岩蜜橘”区域公用品牌推广，发展电商直播和冷链物流，引导合作社统一分级、统一销售。",),
        "擦亮“黄岩蜜橘”金名片",
        "区农业农村局",
        _t(ORANGE),
    ),
    Theme(
        "orchard",
        "农业农村",
        "{tshort}老橘园树龄老化、品种退化亟需改良",
        (
            "{village}一带的橘树多为上世纪八九十年代种植，树龄老化、病虫害多，产量和品质逐年下降，农户缺乏改良资金和技术。",
            "今年柑橘黄龙病在{village}零星出现，果农不会识别，担心大面积扩散。",
        ),
        ("建议实施老橘园改造提升补助，组织农技人员开展品种改良和病虫害防治技术指导。",),
        "推进老橘园改造提升",
        "区农业农村局",
        _t(ORANGE),
    ),
    Theme(
        "bayberry",
        "文化旅游",
        "杨梅采摘季{tshort}景区道路拥堵、停车难",
        (
            "每年6月东魁杨梅成熟时，大量游客自驾前来采摘，{village}沿线道路只有一条，周末经常堵车一两个小时。",
            "采摘园周边没有规范的停车场和公共厕所，游客体验差，果农也反映车辆乱停影响运输。",
        ),
        ("建议在采摘季实行临时交通管制和接驳车，规划建设停车场和旅游厕所，发展农旅融合。",),
        "以杨梅节带动农旅融合发展",
        "区文化和广电旅游体育局",
        _t(BAYBERRY),
    ),
    Theme(
        "clinic",
        "医疗卫生",
        "{tshort}卫生院儿科、康复科医生紧缺",
        (
            "{town}卫生院目前没有专职儿科医生，孩子夜间发烧只能到城区医院就诊，单程要40分钟。",
            "卫生院康复科只有1名医生，中风、骨折术后的老人排队做康复要等一两周。",
        ),
        ("建议通过医共体下派、定向培养等方式充实基层儿科和康复力量，开设夜间门诊。",),
        "提升基层医疗服务能力",
        "区卫健局",
    ),
    Theme(
        "mountain_medical",
        "医疗卫生",
        "{tshort}山区村民就医路远、村卫生室药品不全",
        (
            "{village}距离{tshort}卫生院有20多公里山路，村卫生室只有1名乡村医生，慢性病常用药经常缺货。",
            "山区留守老人多，患有高血压、糖尿病的老人需要定期配药，往返一趟要大半天。",
        ),
        ("建议推广巡回医疗和“流动药箱”，扩大村卫生室医保药品目录，开展远程问诊。",),
        "补齐山区医疗卫生短板",
        "区卫健局",
        _t(MOUNTAIN),
    ),
    Theme(
        "ebike",
        "平安法治",
        "{community}电动自行车充电桩不足、“飞线充电”隐患大",
        (
            "{community}有电动自行车400多辆，但集中充电桩只有20个，不少居民从楼上拉电线充电，甚至把电瓶带回家充。",
            "小区地下车库堆放大量电动车，消防通道被占用，一旦起火后果严重。",
        ),
        ("建议加快老旧小区集中充电设施建设，加强消防安全宣传和巡查执法。",),
        "整治电动自行车充电安全隐患",
        "区应急管理局",
        _t(URBAN),
    ),
    Theme(
        "food_safety",
        "平安法治",
        "{school}周边流动摊贩食品安全隐患",
        ("放学时段{school}门口聚集多个流动摊贩，售卖油炸食品和“三无”零食，学生围着购买，既不卫生也影响交通。",),
        ("建议市场监管、综合执法部门加强校园周边巡查，引导摊贩入室经营。",),
        "守护校园周边食品安全",
        "区市场监管局",
    ),
    Theme(
        "geohazard",
        "平安法治",
        "{village}后山存在地质灾害隐患",
        (
            "{village}后山坡体在今年梅雨期出现裂缝，坡下住着十多户人家，村民夜里下雨时不敢睡觉。",
            "{village}山塘坝体渗水，下游是村民居住区和农田，汛期存在安全隐患。",
        ),
        ("建议尽快组织专业评估，实施工程治理或搬迁避让，完善汛期预警和转移机制。",),
        "筑牢山区防汛防地灾防线",
        "区自然资源和规划分局",
        _t(MOUNTAIN),
    ),
    Theme(
        "mould_talent",
        "产业发展",
        "模具企业技术工人招工难、留人难",
        (
            "{town}不少模具企业反映，数控、钳工等技术工人缺口大，年轻人不愿进厂，熟练工流动频繁，订单多时不敢接。",
            "企业自己培养的技术骨干被外地企业高薪挖走，中小企业培训投入“为他人作嫁衣”。",
        ),
        ("建议深化产教融合，扩大职业院校模具专业招生，完善技能人才住房、子女入学等配套政策。",),
        "破解模具产业技能人才短缺",
        "区人力社保局",
        _t(URBAN + ["院桥镇", "沙埠镇"]),
    ),
    Theme(
        "sme_finance",
        "产业发展",
        "中小微企业融资难、融资贵",
        ("{town}一些小微企业反映，银行贷款要求抵押，厂房多为租赁，拿不出抵押物，只能借民间高息资金。",),
        ("建议扩大政府性融资担保覆盖面，推广知识产权质押、订单融资等产品。",),
        "优化中小微企业融资环境",
        "区经信局",
    ),
    Theme(
        "culture_hall",
        "文化旅游",
        "{village}农村文化礼堂“建而少用”",
        (
            "{village}文化礼堂建成后，除了春节和村里办酒，平时大门紧锁，村民反映“好看不好用”。",
            "文化礼堂缺少专职管理员和活动经费，送文化下乡一年只有两三次。",
        ),
        ("建议建立文化礼堂常态化运行机制，引入乡贤、社会组织参与运营，多开展群众喜闻乐见的活动。",),
        "激活农村文化礼堂功能",
        "区文化和广电旅游体育局",
        _t(RURAL),
    ),
    Theme(
        "luantan",
        "文化旅游",
        "黄岩乱弹传承后继乏人",
        ("黄岩乱弹剧团演员平均年龄偏大，年轻演员收入低、流失多，一些传统剧目已无人能演。",),
        ("建议设立专项传承基金，推动乱弹进校园，与艺术院校合作定向培养青年演员。",),
        "加强黄岩乱弹保护传承",
        "区文化和广电旅游体育局",
    ),
    Theme(
        "rural_teachers",
        "教育教学",
        "{tshort}乡村学校青年教师流失严重",
        ("{school}近三年调走、辞职的青年教师有9人，学校英语、科学老师长期由其他学科老师兼任。",),
        ("建议完善乡村教师生活补助和职称评聘倾斜政策，建设教师周转房。",),
        "稳定乡村教师队伍",
        "区教育局",
        _t(RURAL),
    ),
    Theme(
        "kindergarten",
        "教育教学",
        "{tshort}公办幼儿园学位紧张",
        ("随着新建小区入住，{town}适龄儿童增多，公办幼儿园报名人数超过学位一倍以上，家长只能选择收费较高的民办园。",),
        ("建议结合人口变化科学规划学前教育布局，加快新建、扩建公办幼儿园。",),
        "扩大普惠性学前教育资源",
        "区教育局",
        _t(URBAN),
    ),
    Theme(
        "flexible_workers",
        "就业社保",
        "灵活就业人员参保意愿低、断缴多",
        ("外卖骑手、网约车司机等灵活就业人员反映，社保缴费基数偏高，收入不稳定时只能断缴。",),
        ("建议加强政策宣传，探索按月灵活缴费、缴费补贴等办法，提高参保连续性。",),
        "扩大灵活就业人员社保覆盖面",
        "区人力社保局",
        _t(URBAN),
    ),
    Theme(
        "disabled_jobs",
        "就业社保",
        "{town}残疾人就业渠道窄",
        ("{town}有就业意愿的残疾人不少，但能提供的岗位少，残疾人之家开展的来料加工收入每月只有几百元。",),
        ("建议落实按比例安排残疾人就业政策，扶持残疾人创业，拓展辅助性就业项目。",),
        "拓宽残疾人就业渠道",
        "区残联",
    ),
    Theme(
        "rural_revival",
        "政策建议",
        "{tshort}村级集体经济增收渠道单一",
        ("{village}集体经济收入主要依靠土地、房屋出租，收入不稳定，村里公益事业支出捉襟见肘。",),
        ("建议探索强村公司、片区组团发展等模式，盘活闲置资产，引导乡贤回乡投资。",),
        "壮大村级集体经济",
        "区农业农村局",
        _t(RURAL),
    ),
    Theme(
        "info_point",
        "其他",
        "{tshort}社情民意信息联系点作用发挥不够",
        ("{town}的社情民意信息联系点挂牌后，日常接待不多，群众反映的问题没有固定的反馈渠道。",),
        ("建议明确联系点工作职责，安排委员定期驻点接待，及时反馈办理情况。",),
        "发挥社情民意信息联系点作用",
        "区民政局",
    ),
]

SMALL_THEMES = [
    Theme(
        "street_light",
        "城乡建设",
        "{road}部分路灯损坏多日未修",
        ("{road}有十多盏路灯不亮已有两周，夜间行人和电动车通行不安全。",),
        ("希望尽快维修。",),
        resolution="经委员工作室与{town}、区综合行政执法局沟通，已于三日内修复路灯。",
    ),
    Theme(
        "bus_shelter",
        "交通出行",
        "{tshort}公交站台雨棚破损",
        ("{town}集镇公交站台雨棚被台风吹坏，候车群众下雨天只能淋雨。",),
        ("希望尽快修复。",),
        resolution="已联系区交通运输局，公交公司已更换站台雨棚。",
    ),
    Theme(
        "insurance_advice",
        "就业社保",
        "群众咨询城乡居民医保缴费政策",
        ("{village}不少老人不清楚今年城乡居民医保缴费标准和缴费方式，担心断保。",),
        ("希望有人来讲一讲。",),
        resolution="委员工作室组织政策宣讲，区医保分局工作人员现场解答，群众问题已当场解决。",
    ),
    Theme(
        "bend_sign",
        "交通出行",
        "{village}村口急弯缺少警示标志",
        ("{village}村口有一处急弯，没有警示标志和反光镜，近期发生过两起电动车刮擦。",),
        ("建议增设警示设施。",),
        resolution="已协调{town}设置减速带、警示牌和反光镜。",
    ),
    Theme(
        "waterlogging",
        "城乡建设",
        "{community}小区门口雨天积水",
        ("{community}小区门口排水口堵塞，一下雨就积水，居民进出要蹚水。",),
        ("希望疏通排水管道。",),
        resolution="已由{town}安排疏通排水管道，积水问题已解决。",
    ),
    Theme(
        "citrus_advice",
        "农业农村",
        "橘农咨询柑橘病虫害防治技术",
        ("{village}橘农反映今年橘树叶片发黄，不知道是缺肥还是病害。",),
        ("希望请专家指导。",),
        resolution="已联系区农技推广中心专家到{village}开展现场技术指导。",
    ),
    Theme(
        "elderly_allowance",
        "养老托育",
        "高龄老人不会申领高龄津贴",
        ("{village}几位90岁以上老人子女在外地，不会在手机上申领高龄津贴。",),
        ("希望帮助办理。",),
        resolution="已由{town}民政办工作人员上门帮办，津贴已发放。",
    ),
]

PERSONAL_THEMES = [
    Theme(
        "wage_dispute",
        "就业社保",
        "反映个人劳动报酬纠纷",
        ("群众反映其在{town}某企业务工，被拖欠工资两个月，多次讨要未果。",),
        ("希望委员帮助讨要。",),
        channel=RedirectChannel.COURT,
        reason=0,
    ),
    Theme(
        "homestead",
        "平安法治",
        "邻里宅基地界址纠纷",
        ("{village}两户村民因宅基地界址发生纠纷，已多次争吵。",),
        ("希望政协出面调解。",),
        channel=RedirectChannel.OTHER,
        reason=0,
    ),
    Theme(
        "demolition",
        "城乡建设",
        "对个人征迁补偿标准有异议",
        ("群众对其房屋征迁补偿标准不满，认为评估价偏低。",),
        ("要求提高补偿。",),
        channel=RedirectChannel.PETITION,
        reason=0,
    ),
    Theme(
        "noise",
        "生态环境",
        "{road}夜间施工噪音扰民",
        ("{road}附近工地夜间11点后仍在施工，周边居民无法休息。",),
        ("希望制止夜间施工。",),
        channel=RedirectChannel.HOTLINE_12345,
        reason=4,
    ),
    Theme(
        "property",
        "城乡建设",
        "{community}物业服务纠纷",
        ("{community}业主与物业公司因物业费和服务质量发生纠纷。",),
        ("希望帮助协调。",),
        channel=RedirectChannel.HOTLINE_12345,
        reason=0,
    ),
    Theme(
        "loan",
        "平安法治",
        "民间借贷纠纷要求协调",
        ("群众反映借给他人的钱款到期未还，已向法院起诉。",),
        ("希望政协督促法院尽快判决。",),
        channel=RedirectChannel.COURT,
        reason=1,
    ),
    Theme(
        "title_review",
        "就业社保",
        "反映个人职称评审结果不公",
        ("群众认为今年个人职称评审结果不公，要求重新评审。",),
        ("希望委员反映。",),
        channel=RedirectChannel.PETITION,
        reason=0,
    ),
    Theme(
        "school_zone",
        "教育教学",
        "要求为个人子女调整学区",
        ("群众希望将孩子调到{school}就读，但户籍不在学区范围内。",),
        ("希望帮助协调入学。",),
        channel=RedirectChannel.OTHER,
        reason=3,
    ),
    Theme(
        "online_shop",
        "平安法治",
        "网购商品质量投诉",
        ("群众在网上购买的家电出现质量问题，商家拒绝退换。",),
        ("希望帮助维权。",),
        channel=RedirectChannel.HOTLINE_12345,
        reason=4,
    ),
]
UNVERIFIABLE_REASON = 2

INTROS = [
    "近期在走访联系界别群众时，多名群众反映：",
    "通过委员工作室接待，群众反映：",
    "在民生议事堂协商活动中，群众集中反映：",
    "界别群众通过微信群向委员反映：",
    "在“委员会客厅”活动中，群众提出：",
    "",
]
QUESTIONS = [
    "请补充问题发生的具体位置和时段，最好附现场照片。",
    "请补充受影响群众的大致人数和具体诉求。",
    "请说明此前是否已向属地乡镇（街道）或相关部门反映过，处理情况如何。",
    "请补充相关数据（如受影响户数、车流量、费用等），以便研究转化。",
]
ANSWERS = [
    "已补充：问题集中在早晚高峰时段，涉及约200户群众，现场照片已通过委员工作室提交。",
    "已补充：群众此前曾向{town}反映，答复正在研究，至今没有解决。",
    "已补充：经再次走访核实，受影响的主要是老人和学生，群众希望年内能有改善。",
    "已补充相关数据和照片，并附上3位群众的书面意见。",
]
ACCEPT_NOTES = ["问题具有普遍性，同意受理并研究转化。", "反映集中，拟与同类问题汇总转化。", "情况属实，同意受理。", ""]
SEND_BACK_REASONS = [
    "审核意见有误，退回重新审核。",
    "经与委员沟通，问题需进一步核实，退回重新审核。",
    "误操作，撤回上一步决定。",
]
REDIRECT_NOTES = {
    RedirectChannel.PETITION: "属信访事项，已引导群众通过信访渠道依法反映。",
    RedirectChannel.HOTLINE_12345: "属一般性诉求，已转12345政务服务热线办理。",
    RedirectChannel.COURT: "属民事纠纷，建议群众通过司法途径解决，已告知法律援助渠道。",
    RedirectChannel.OTHER: "已转{town}综治中心（矛盾纠纷调解中心）调处。",
}
FEEDBACK_TEXT = {
    FeedbackMethod.VISIT: "已上门向反映群众通报办理情况",
    FeedbackMethod.PHONE: "已电话告知反映群众办理情况",
    FeedbackMethod.MESSAGE: "已通过微信向反映群众反馈办理情况",
    FeedbackMethod.MEETING: "已在座谈会上向群众通报办理情况",
}
SATISFACTION_TEXT = {
    Satisfaction.SATISFIED: "群众表示满意。",
    Satisfaction.BASICALLY: "群众表示基本满意，希望后续继续跟进。",
    Satisfaction.DISSATISFIED: "群众对结果不太满意，委员已做好解释工作。",
}

OUTPUT_TITLES = {
    OutputType.PROPOSAL: "关于{phrase}的提案",
    OutputType.INFO_REPORT: "关于{phrase}的建议",
    OutputType.SPEECH: "{phrase}——大会发言",
    OutputType.RESEARCH_REPORT: "关于{phrase}的调研报告",
}
REPLY_CLASSES = [
    ("A", "已解决或基本解决", "已会同属地乡镇（街道）制定整改方案，相关措施已落实到位"),
    ("B", "部分解决或列入计划", "已将相关工作列入明年计划，部分措施已先行落实"),
    ("C", "留作参考", "受资金和用地条件限制，暂难实施，建议内容留作今后工作参考"),
]
ADOPTION = [
    "被区政协《社情民意》编发，区委主要领导作出批示，要求相关部门研究落实",
    "被市政协《社情民意》采用，市政府分管领导作出批示",
    "被省政协《社情民意》采用并报送省委、省政府",
    "被区政协《社情民意》编发，转相关部门参阅",
]
SPEECH_OUTCOMES = [
    "在区政协十五届五次会议上作大会口头发言（8分钟），{dept}已在会后研究吸纳发言建议",
    "被确定为区政协十五届五次会议书面发言，印发与会人员并转{dept}参阅",
]
RESEARCH_OUTCOMES = [
    "调研报告经主席会议审议通过，报送区委、区政府，区领导作出批示，{dept}牵头落实",
    "调研报告经主席会议审议通过，转{dept}研究办理",
]

ENGAGEMENT_CHANNELS = {
    EngagementMethod.VISIT: [EngagementChannel.TALK, EngagementChannel.CONDOLENCE],
    EngagementMethod.DIGITAL: [
        EngagementChannel.DIGITAL_CPPCC,
        EngagementChannel.ZHEZHENGDING,
        EngagementChannel.WEIBO,
        EngagementChannel.EMAIL,
        EngagementChannel.WECHAT_GROUP,
    ],
    EngagementMethod.PLATFORM: [
        EngagementChannel.MEMBER_PARLOUR,
        EngagementChannel.LIVELIHOOD_HALL,
        EngagementChannel.MEMBER_STUDIO,
        EngagementChannel.INFO_POINT,
        EngagementChannel.CONSULTATION_STATION,
    ],
    EngagementMethod.SERVICE: [EngagementChannel.THEMED_TALK, EngagementChannel.READING],
}
ENGAGEMENT_NOTES = {
    EngagementMethod.VISIT: [
        "上门走访，了解家庭生产生活情况和近期困难。",
        "节前走访慰问，听取对村（社区）工作的意见建议。",
        "谈心谈话，宣传惠民政策，记录群众诉求。",
    ],
    EngagementMethod.DIGITAL: ["通过线上平台收集群众意见，解答政策疑问。", "在微信群发布政策解读，收集反馈意见。"],
    EngagementMethod.PLATFORM: [
        "参加委员会客厅活动，围绕民生实事开展协商。",
        "在民生议事堂与群众面对面议事。",
        "在委员工作室接待群众来访。",
    ],
    EngagementMethod.SERVICE: ["开展主题宣讲，宣传共同富裕和基层治理政策。", "组织读书学习活动，交流履职体会。"],
}
SERVICE_NOTES = {
    ServiceKind.POLICY_ADVICE: "开展政策咨询，解答社保、医保、惠农政策问题",
    ServiceKind.LEGAL_AID: "提供法律咨询，帮助群众梳理纠纷化解途径",
    ServiceKind.TECHNICAL: "开展技术指导，讲解柑橘栽培和病虫害防治要点",
    ServiceKind.SCIENCE: "开展科普宣传，讲解防范电信诈骗和食品安全知识",
    ServiceKind.CLINIC: "组织义诊，为老人测量血压血糖、提供健康咨询",
}


# ---------------------------------------------------------------------------------------------
# Time: the steps of the history run at their planned moments
# ---------------------------------------------------------------------------------------------


class SimulatedNow:
    """While active, `django.utils.timezone.now` (and every copy of it another module took with
    `from django.utils.timezone import now`, and every model field defaulting to it) returns
    `self.at`. The domain code reads only that clock, so each step of the seeded history is
    recorded at its planned moment."""

    def __init__(self, at: datetime) -> None:
        self.at = at
        self._original = timezone.now
        self._modules: list[tuple[Any, str]] = []
        self._fields: list[Any] = []

    def now(self) -> datetime:
        return self.at

    def __enter__(self) -> SimulatedNow:
        original = self._original
        for module in list(sys.modules.values()):
            namespace = getattr(module, "__dict__", None)
            if not isinstance(namespace, dict):
                continue
            for name, value in list(namespace.items()):
                if value is original:
                    self._modules.append((module, name))
        for model in apps.get_models():
            for f in model._meta.concrete_fields:
                if f.default is original:
                    self._fields.append(f)
        for module, name in self._modules:
            setattr(module, name, self.now)
        for f in self._fields:
            f.default = self.now
            f.__dict__.pop("_get_default", None)  # a cached_property holding the default callable
        return self

    def __exit__(self, *exc: object) -> None:
        for module, name in self._modules:
            setattr(module, name, self._original)
        for f in self._fields:
            f.default = self._original
            f.__dict__.pop("_get_default", None)


def _working_day(day: date) -> bool:
    return day.weekday() < 5


@dataclass
class Calendar:
    """Planned moments: office hours on working days for staff, any day and evening for members."""

    rng: random.Random
    cap: datetime  # nothing is planned after this (a little before the real now)

    def _at(self, day: date, start: time, end: time) -> datetime:
        lo = start.hour * 60 + start.minute
        hi = end.hour * 60 + end.minute
        minute = self.rng.randint(lo, hi)
        return datetime.combine(day, time(minute // 60, minute % 60, self.rng.randint(0, 59)), tzinfo=SHANGHAI)

    def day_before_cap(self, days_lo: float, days_hi: float) -> datetime:
        """A member's moment between `days_hi` and `days_lo` days before the cap."""
        moment = self.cap - timedelta(days=self.rng.uniform(days_lo, days_hi))
        return self._at(moment.astimezone(SHANGHAI).date(), time(7, 30), time(21, 30))

    def staff(self, after: datetime, lo: int, hi: int) -> datetime:
        """Office hours, `lo`..`hi` working days after `after` (0 = later the same working day if possible)."""
        days = self.rng.randint(lo, hi)
        day = after.astimezone(SHANGHAI).date()
        while days > 0 or not _working_day(day):
            day += timedelta(days=1)
            if _working_day(day):
                days -= 1
        moment = self._at(day, time(8, 40), time(17, 20))
        if moment <= after:
            moment = after + timedelta(minutes=self.rng.randint(20, 150))
        return moment

    def member(self, after: datetime, lo: float, hi: float) -> datetime:
        moment = after + timedelta(days=self.rng.uniform(lo, hi))
        moment = self._at(moment.astimezone(SHANGHAI).date(), time(7, 30), time(21, 30))
        if moment <= after:
            moment = after + timedelta(minutes=self.rng.randint(30, 240))
        return moment


# ---------------------------------------------------------------------------------------------
# Plans: what happens to each case, and when
# ---------------------------------------------------------------------------------------------


@dataclass
class Step:
    at: datetime
    run: Callable[..., None]
    args: tuple[Any, ...] = ()


@dataclass
class CasePlan:
    key: int
    kind: str
    member: Member
    staff: User
    theme: Theme
    place: dict[str, str]
    fields: dict[str, Any]
    committee_id: int
    steps: list[Step] = field(default_factory=list)
    case_id: int | None = None
    opened: Step | None = None  # the step that put it into review (a merge target from then)
    closed: Step | None = None  # the step that closed or merged it

    def add(self, at: datetime, run: Callable[..., None], *args: Any) -> Step:
        step = Step(at, run, (self, *args))
        self.steps.append(step)
        return step


@dataclass
class OutputPlan:
    key: int
    output_type: str
    theme: Theme
    committee_id: int
    title: str
    recorded: bool
    cases: list[CasePlan] = field(default_factory=list)
    output_id: int | None = None
    outcome: str = ""


def _shift(steps: list[Step], delta: timedelta) -> None:
    for step in steps:
        step.at -= delta


# ---------------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------------


def _password() -> str:
    """Random, 14 characters, every class of character (等保 password complexity)."""
    alphabet = string.ascii_letters + string.digits + "-_.@#%"
    while True:
        pw = "".join(secrets.choice(alphabet) for _ in range(14))
        if (
            any(c.islower() for c in pw)
            and any(c.isupper() for c in pw)
            and any(c.isdigit() for c in pw)
            and any(c in "-_.@#%" for c in pw)
        ):
            return pw


class Command(BaseCommand):
    help = (
        "生成黄岩区政协演示数据：组织、届次、界别、专委会、约60名委员及其联系的界别群众、联系活动，"
        "以及约300件覆盖各环节、各分支的民情案件（全部经由工作流操作生成）。"
        "数据已存在时跳过；每个账号的随机密码只在首次生成时打印一次。"
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--once",
            action="store_true",
            help="演示数据已存在时静默跳过（供 make run 调用；不加此参数时行为相同）。",
        )

    # -- entry ------------------------------------------------------------------------------

    def handle(self, *args: Any, **options: Any) -> None:
        if Organisation.objects.filter(name=DISTRICT_NAME).exists():
            self.stdout.write("演示数据已存在，跳过")
            return
        started = walltime.monotonic()
        self.rng = random.Random(SEED)
        self.real_now = timezone.now()
        self.credentials: list[tuple[str, User, str]] = []  # (role label, user, password)
        self.hashes: dict[int, Any] = {}
        # Password hashing is slow on purpose (PBKDF2): it runs on the spare cores meanwhile.
        self.hasher = ThreadPoolExecutor(max_workers=max(1, (os.cpu_count() or 2) - 1))
        try:
            with transaction.atomic():
                with SimulatedNow(SETUP_AT) as self.clock:
                    self._build_world()
                    self._build_people()
                    self._build_engagements()
                    self._run_cases()
                self._store_passwords()
                audit_checkpoint()
        finally:
            self.hasher.shutdown(wait=False, cancel_futures=True)
        self._report(walltime.monotonic() - started)

    def say(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()

    # -- organisations and reference data -----------------------------------------------------

    def _build_world(self) -> None:
        self.say("创建政协组织、届次和会次…")
        province, _ = Organisation.objects.get_or_create(
            name=PROVINCE_NAME, defaults={"short_name": "浙江省政协", "level": OrgLevel.PROVINCE}
        )
        city, _ = Organisation.objects.get_or_create(
            name=CITY_NAME, defaults={"short_name": "台州市政协", "level": OrgLevel.CITY, "parent": province}
        )
        self.city = city
        self.org = org = Organisation.objects.create(
            name=DISTRICT_NAME, short_name="黄岩区政协", level=OrgLevel.DISTRICT, parent=city
        )
        self.term = Term.objects.create(organisation=org, number=15, name="第十五届", starts_on=date(2021, 12, 1))
        self.sessions = [
            Session.objects.create(term=self.term, number=n, name=name, opens_on=opens) for n, name, opens in SESSIONS
        ]

        self.say(
            f"创建乡镇街道 {len(TOWNSHIPS)} 个、承办单位 {len(DEPARTMENTS)} 个、不予受理理由 {len(REJECT_REASONS)} 条…"
        )
        self.townships = {name: Township.objects.create(organisation=org, name=name) for name in TOWNSHIPS}
        self.departments = {code: Department.objects.create(organisation=org, name=name) for name, code in DEPARTMENTS}
        self.reasons = [
            RejectReason.objects.create(organisation=org, text=text, is_active=active)
            for text, active in REJECT_REASONS
        ]
        self.say(f"创建专门委员会 {len(COMMITTEES)} 个、案件类别 {len(CATEGORIES)} 个…")
        self.committees = {
            code: Committee.objects.create(organisation=org, name=name, is_default_intake=name == DEFAULT_INTAKE)
            for name, code in COMMITTEES
        }
        by_name = {c.name: c for c in self.committees.values()}
        self.categories = {
            name: CaseCategory.objects.create(organisation=org, name=name, committee=by_name.get(committee))
            for name, committee in CATEGORIES
        }
        self.default_committee = by_name[DEFAULT_INTAKE]
        self.sectors = {name: Sector.objects.create(organisation=org, name=name) for name, _prefs, _work in SECTORS}
        # Places named per township: villages, communities, schools, rivers. Invented, plausible.
        self.places: dict[str, dict[str, list[str]]] = {}
        for town in TOWNSHIPS:
            short = town.removesuffix("街道").removesuffix("镇").removesuffix("乡")
            villages: set[str] = set()
            while len(villages) < 4:
                villages.add(self.rng.choice(VILLAGE_A) + self.rng.choice(VILLAGE_B) + "村")
            communities = [c + "社区" for c in self.rng.sample(COMMUNITY, 3)]
            mountain = town in MOUNTAIN
            self.places[town] = {
                "tshort": [short],
                "village": sorted(villages),
                "community": communities if town in URBAN else [f"{short}集镇社区"],
                "school": [f"{short}中心小学", f"{short}小学", f"{short}中学"],
                "river": [f"{short}溪"] if mountain else self.rng.sample(RIVERS, 2),
                "road": [*self.rng.sample(ROADS, 2), f"{short}大道"],
            }

    # -- people -------------------------------------------------------------------------------

    def _names(self) -> Iterator[str]:
        seen: set[str] = set()
        while True:
            given = self.rng.choice(GIVEN) + (self.rng.choice(GIVEN) if self.rng.random() < 0.8 else "")
            name = self.rng.choice(SURNAMES) + given
            if name not in seen and name not in FAMOUS and len(set(name)) == len(name):
                seen.add(name)
                yield name

    @staticmethod
    def _free_username(username: str) -> str:
        """An account someone made by hand before the first seed keeps its name; ours gets another."""
        candidate, n = username, 1
        while User.objects.filter(username=candidate).exists():
            candidate, n = f"{username}_demo{n if n > 1 else ''}", n + 1
        return candidate

    def _user(self, org: Organisation, role: str, username: str, name: str, **extra: Any) -> User:
        user = User(username=self._free_username(username), display_name=name, organisation=org, **extra)
        user.set_unusable_password()
        user.save()
        if role:
            user.groups.add(self.groups[role])
        password = _password()
        self.hashes[user.pk] = self.hasher.submit(make_password, password)
        self.credentials.append((str(Role(role).label) if role else "超级管理员", user, password))
        return user

    def _build_people(self) -> None:
        self.groups = {role: Group.objects.get(name=role) for role in Role.values}
        names = self._names()
        org = self.org
        self.say("创建管理员和各角色账号…")
        self._user(org, "", "admin", "系统超级管理员", is_superuser=True, is_staff=True)
        self.staff: dict[str, list[User]] = {}
        for code, committee in self.committees.items():
            head = self._user(org, Role.COMMITTEE_HEAD, f"{code}_head", next(names))
            committee.head = head
            committee.save(update_fields=["head"])
            role = Role.PROPOSAL_OFFICE if code == "ta" else Role.COMMITTEE_STAFF
            staff = [
                self._user(org, role, f"{code}_staff{i}", next(names)) for i in range(1, STAFF_PER_COMMITTEE[code] + 1)
            ]
            committee.staff.add(*staff)
            self.staff[code] = staff
        self.staff_by_committee = {self.committees[code].pk: users for code, users in self.staff.items()}
        for code in LIAISON_DEPARTMENTS:
            self._user(org, Role.DEPARTMENT_LIAISON, f"dept_{code}", next(names), department=self.departments[code])
        self.leaders = [self._user(org, Role.LEADERSHIP, f"leader{i}", next(names)) for i in (1, 2)]
        self._user(org, Role.AUDITOR, "auditor", next(names))
        self._user(org, Role.SECURITY_ADMIN, "secadmin", next(names))
        self._user(org, Role.SYSADMIN, "sysadmin", next(names))
        # The city committee: its own proposal committee and one staff user, to see org scoping.
        city_committee, _ = Committee.objects.get_or_create(organisation=self.city, name="提案委员会")
        city_committee.staff.add(self._user(self.city, Role.COMMITTEE_STAFF, "tz_staff1", next(names)))

        total = MEMBERS_PER_SECTOR * len(SECTORS)
        self.say(f"创建委员 {total} 名及其联系的界别群众…")
        self.members: list[Member] = []
        self.sector_prefs: dict[int, list[str]] = {}
        self.rosters: dict[int, list[int]] = {}
        n = 0
        contacts_total = 0
        for sector_name, prefs, workplaces in SECTORS:
            sector = self.sectors[sector_name]
            conveners: list[Member] = []
            for i in range(MEMBERS_PER_SECTOR):
                n += 1
                name = next(names)
                user = self._user(org, Role.MEMBER, f"member{n:03d}", name)
                member = Member.objects.create(organisation=org, user=user, name=name, sector=sector, term=self.term)
                self.members.append(member)
                self.sector_prefs[member.pk] = prefs
                if i == 0 or (i == 1 and sector_name in ("经济界", "农业界")):
                    user.groups.add(self.groups[Role.CONVENER])
                    conveners.append(member)
                    self.credentials[-1] = (f"{Role.MEMBER.label}/{Role.CONVENER.label}", user, self.credentials[-1][2])
            sector.conveners.add(*conveners)
            approver = conveners[0].user
            for member in sector.members.order_by("id"):
                count = self.rng.choice((3, 3, 4, 4, 4, 5, 5))
                ids = []
                for _ in range(count):
                    town = self.rng.choice(TOWNSHIPS)
                    workplace = self._fill(self.rng.choice(workplaces), self._place(town))
                    consented = date(2021, 12, 6) + timedelta(days=self.rng.randint(0, 21))
                    contact = Contact.objects.create(
                        organisation=org,
                        sector=sector,
                        name=next(names),
                        phone=self._phone(),
                        workplace=workplace,
                        consent_recorded_on=consented,
                    )
                    RosterEntry.objects.create(
                        organisation=org, sector=sector, member=member, contact=contact, approved_by=approver
                    )
                    ids.append(contact.pk)
                self.rosters[member.pk] = ids
                contacts_total += count
        self.say(f"  界别 {len(SECTORS)} 个，界别群众 {contacts_total} 名，每名委员联系 3–5 名")

    def _phone(self) -> str:
        return "1" + self.rng.choice("35789") + "".join(self.rng.choice(string.digits) for _ in range(9))

    def _place(self, town: str) -> dict[str, str]:
        options = self.places[town]
        place = {key: self.rng.choice(values) for key, values in options.items()}
        place["town"] = town
        return place

    @staticmethod
    def _fill(template: str, place: dict[str, str]) -> str:
        return template.format_map(place)

    # -- engagements and services -------------------------------------------------------------

    def _build_engagements(self) -> None:
        self.say("创建联系活动和实事服务记录…")
        org = self.org
        today = self.real_now.astimezone(SHANGHAI).date()
        methods = list(ENGAGEMENT_CHANNELS)
        purposes = list(EngagementPurpose.values)
        engagements: list[Engagement] = []
        links: list[tuple[int, list[int]]] = []
        for member in self.members:
            contacts = self.rosters[member.pk]
            diligent = self.rng.random() < 0.85  # most visit every constituent at least once a year
            plan: list[tuple[str, list[int]]] = []
            if diligent:
                for cid in contacts:
                    plan.append((EngagementMethod.VISIT, [cid]))
            for _ in range(self.rng.randint(2, 6)):
                method = self.rng.choice(methods)
                plan.append((method, self.rng.sample(contacts, self.rng.randint(1, min(3, len(contacts))))))
            for method, cids in plan:
                engagements.append(
                    Engagement(
                        organisation=org,
                        member=member,
                        occurred_on=today - timedelta(days=self.rng.randint(1, 320)),
                        method=method,
                        channel=self.rng.choice(ENGAGEMENT_CHANNELS[method]),
                        purposes=sorted(self.rng.sample(purposes, self.rng.randint(1, 3)), key=purposes.index),
                        notes=self.rng.choice(ENGAGEMENT_NOTES[method]),
                    )
                )
                links.append((member.pk, cids))
        Engagement.objects.bulk_create(engagements)
        through = Engagement.contacts.through
        through.objects.bulk_create(
            [
                through(engagement_id=e.pk, contact_id=cid)
                for e, (_m, cids) in zip(engagements, links, strict=True)
                for cid in cids
            ]
        )
        services: list[ServiceRecord] = []
        by_member: dict[int, list[Engagement]] = {}
        for e in engagements:
            if e.method == EngagementMethod.SERVICE:
                by_member.setdefault(e.member_id, []).append(e)
        for member in self.members:
            for _ in range(self.rng.randint(0, 3)):
                kind = self.rng.choice(ServiceKind.values)
                linked = (
                    self.rng.choice(by_member[member.pk])
                    if member.pk in by_member and self.rng.random() < 0.5
                    else None
                )
                town = self.rng.choice(TOWNSHIPS)
                services.append(
                    ServiceRecord(
                        organisation=org,
                        member=member,
                        engagement=linked,
                        kind=kind,
                        occurred_on=linked.occurred_on if linked else today - timedelta(days=self.rng.randint(1, 320)),
                        people_served=self.rng.randint(5, 120),
                        notes=f"在{town}{SERVICE_NOTES[kind]}。",
                    )
                )
        ServiceRecord.objects.bulk_create(services)
        self.say(f"  联系活动 {len(engagements)} 次，实事服务 {len(services)} 次")

    # -- cases: plan ---------------------------------------------------------------------------
    # Content (who, what, which branch) is drawn from `self.rng` at plan time only, so it does
    # not depend on the day the seed runs; moments are drawn from the calendar's own generator.

    def _pick_member(self, theme: Theme, avoid: set[int] | None = None) -> Member:
        avoid = avoid or set()
        preferred = [m for m in self.members if theme.category in self.sector_prefs[m.pk] and m.pk not in avoid]
        pool = preferred if preferred and self.rng.random() < 0.65 else [m for m in self.members if m.pk not in avoid]
        return self.rng.choice(pool)

    def _new_plan(
        self,
        kind: str,
        theme: Theme,
        *,
        town: str | None = None,
        avoid: set[int] | None = None,
        staff: User | None = None,
    ) -> CasePlan:
        member = self._pick_member(theme, avoid)
        town = town or self.rng.choice(theme.towns)
        place = self._place(town)
        category = self.categories[theme.category]
        committee_id = category.committee_id or self.default_committee.pk
        description = (
            self.rng.choice(INTROS)
            + self._fill(self.rng.choice(theme.situations), place)
            + self._fill(self.rng.choice(theme.suggestions), place)
        )
        plan = CasePlan(
            key=len(self.plans),
            kind=kind,
            member=member,
            staff=staff or self.rng.choice(self.staff_by_committee[committee_id]),
            theme=theme,
            place=place,
            fields={
                "title": self._fill(theme.title, place),
                "description": description,
                "category": category.pk,
                "township": self.townships[town].pk,
                "urgency": self.rng.choices(Urgency.values, weights=(80, 16, 4))[0],
                "contacts": self.rng.sample(self.rosters[member.pk], self.rng.randint(1, 2)),
                "consent_to_share": self.rng.random() < 0.65,
            },
            committee_id=committee_id,
        )
        self.plans.append(plan)
        return plan

    def _intake(self, plan: CasePlan, at: datetime, *, draft_first: float = 0.2) -> datetime:
        """File the case (sometimes a draft first, submitted later); returns when it entered review."""
        if self.rng.random() < draft_first:
            plan.add(at, self._do_file, False)
            at = self.cal.member(at, 0.1, 3)
            plan.opened = plan.add(at, self._do_submit)
        else:
            plan.opened = plan.add(at, self._do_file, True)
        return at

    def _info_round(self, plan: CasePlan, at: datetime, *, answer: bool = True) -> datetime:
        at = self.cal.staff(at, 0, 3)
        plan.add(at, self._do_request_info, self.rng.choice(QUESTIONS))
        if answer:
            at = self.cal.member(at, 0.3, 4)
            plan.add(at, self._do_answer_info, self._fill(self.rng.choice(ANSWERS), plan.place))
        return at

    def _review_prefix(self, plan: CasePlan, at: datetime, *, claim: float = 0.35, info: float = 0.0) -> datetime:
        """What may happen in review before the decision: an information round, a claim."""
        if self.rng.random() < info:
            at = self._info_round(plan, at)
        if self.rng.random() < claim:
            at = self.cal.staff(at, 0, 2)
            plan.add(at, self._do_claim)
        return at

    def _accept(self, plan: CasePlan, at: datetime) -> Step:
        return plan.add(at, self._do_accept, self.rng.choice(ACCEPT_NOTES))

    def _redirect(self, plan: CasePlan, at: datetime) -> Step:
        channel = plan.theme.channel or self.rng.choice(RedirectChannel.values)
        return plan.add(at, self._do_redirect, channel, self._fill(REDIRECT_NOTES[channel], plan.place))

    def _feedback(self, plan: CasePlan, at: datetime) -> Step:
        method = self.rng.choices(FeedbackMethod.values, weights=(45, 35, 12, 8))[0]
        satisfaction = self.rng.choices(Satisfaction.values, weights=(70, 22, 8))[0]
        note = FEEDBACK_TEXT[method] + "，" + SATISFACTION_TEXT[satisfaction]
        plan.closed = plan.add(at, self._do_feedback, method, satisfaction, note)
        return plan.closed

    def _fit(self, steps: list[Step], extra_minutes: tuple[int, int] = (60, 4320)) -> None:
        """Move a planned history back in time so it ends before the cap."""
        last = max(s.at for s in steps)
        if last > self.cal.cap:
            _shift(steps, last - self.cal.cap + timedelta(minutes=self.cal.rng.randint(*extra_minutes)))

    def _plan_single(self, kind: str, theme: Theme, start_days: tuple[float, float]) -> CasePlan:
        plan = self._new_plan(kind, theme)
        cal = self.cal
        start = cal.day_before_cap(*start_days)
        if kind == "draft":
            plan.add(start, self._do_file, False)
            return plan
        at = self._intake(plan, start)
        if kind == "review_claimed":
            self._review_prefix(plan, at, claim=1.0)
        elif kind == "review_answered":
            self._review_prefix(plan, at, claim=0.5, info=1.0)
        elif kind == "needs_info":
            at = self._review_prefix(plan, at, claim=0.3)
            self._info_round(plan, at, answer=False)
        elif kind in ("conversion", "conversion_claimed"):
            at = self._review_prefix(plan, at, info=0.2)
            at = cal.staff(at, 1, 4)
            self._accept(plan, at)
            if kind == "conversion_claimed":
                plan.add(cal.staff(at, 0, 2), self._do_claim)
        elif kind.startswith(("rejected", "redirected", "resolved")):
            at = self._review_prefix(plan, at, info=0.1)
            at = cal.staff(at, 1, 6 if self.rng.random() < 0.9 else 9)  # a few decided after the clock ran out
            self._decide(plan, kind.split("_")[0], at)
            if kind.endswith("_closed"):
                self._feedback(plan, cal.member(at, 0.5, 12))
        elif kind.startswith("sendback"):
            self._plan_send_back(plan, kind, at)
        elif kind != "review":
            raise ValueError(kind)
        self._fit(plan.steps)
        return plan

    def _decide(self, plan: CasePlan, decision: str, at: datetime) -> Step:
        if decision == "accepted":
            return self._accept(plan, at)
        if decision == "redirected":
            return self._redirect(plan, at)
        if decision == "resolved":
            note = self._fill(plan.theme.resolution or "经委员工作室协调{town}，问题已当场解决。", plan.place)
            return plan.add(at, self._do_resolve, note)
        assert decision == "rejected"
        reason = self.reasons[plan.theme.reason if plan.theme.reason >= 0 else UNVERIFIABLE_REASON]
        return plan.add(at, self._do_reject, reason.pk, f"经核实，{reason.text}，已向委员说明。")

    def _plan_send_back(self, plan: CasePlan, kind: str, at: datetime) -> None:
        cal = self.cal
        first, then = {
            "sendback_conv_review": ("accepted", ""),
            "sendback_conv_resolve": ("accepted", "resolved"),
            "sendback_info_accept": ("needs_info", "accepted"),
            "sendback_reject_accept": ("rejected", "accepted"),
            "sendback_resolve_redirect": ("resolved", "redirected"),
        }[kind]
        if first == "needs_info":
            at = self._info_round(plan, at, answer=False)
        else:
            at = cal.staff(at, 1, 3)
            self._decide(plan, first, at)
        at = cal.staff(at, 0, 3)
        plan.add(at, self._do_send_back, self.rng.choice(SEND_BACK_REASONS))
        if then:
            at = cal.staff(at, 1, 3)
            self._decide(plan, then, at)
            if then == "resolved":
                self._feedback(plan, cal.member(at, 0.5, 6))

    def _plan_outputs(self, total: int) -> None:
        """Cases that become outputs. Several cases of one theme are gathered into one output."""
        cal = self.cal
        kinds = [OutputType.PROPOSAL, OutputType.INFO_REPORT, OutputType.SPEECH, OutputType.RESEARCH_REPORT]
        sizes = {
            OutputType.PROPOSAL: (1, 1, 2, 2, 3, 3, 4),
            OutputType.INFO_REPORT: (1, 1, 2, 2, 3),
            OutputType.SPEECH: (2, 3, 3, 4),
            OutputType.RESEARCH_REPORT: (3, 4, 5, 6),
        }
        delays = {
            OutputType.PROPOSAL: (25, 70),
            OutputType.INFO_REPORT: (8, 30),
            OutputType.SPEECH: (10, 40),
            OutputType.RESEARCH_REPORT: (15, 50),
        }
        themes = list(POLICY_THEMES)
        self.rng.shuffle(themes)
        remaining = total
        n = 0
        while remaining > 0:
            if n < 8:  # each type at least once with its outcome and once still waiting, gathering 2+ cases
                output_type, recorded = kinds[n % 4], n < 4
                size = max(2, self.rng.choice(sizes[output_type]))
            else:
                output_type = self.rng.choices(kinds, weights=(45, 30, 12, 13))[0]
                recorded = self.rng.random() < 0.66
                size = self.rng.choice(sizes[output_type])
            size = min(size, remaining)
            theme = themes[n % len(themes)]
            committee_id = self.categories[theme.category].committee_id or self.default_committee.pk
            out = OutputPlan(
                key=n,
                output_type=output_type,
                theme=theme,
                committee_id=committee_id,
                title=OUTPUT_TITLES[output_type].format(phrase=theme.phrase),
                recorded=recorded,
            )
            n += 1
            remaining -= size
            base = cal.day_before_cap(100, 240) if recorded else cal.day_before_cap(8, 80)
            staff = self.rng.choice(self.staff_by_committee[committee_id])  # one staff member gathers it
            used: set[int] = set()
            steps: list[Step] = []
            conversions: list[datetime] = []
            for _ in range(size):
                plan = self._new_plan("output", theme, avoid=used, staff=staff)
                used.add(plan.member.pk)
                at = self._intake(plan, cal.member(base, 0, 25))
                at = self._review_prefix(plan, at, info=0.15)
                at = cal.staff(at, 1, 5)
                self._accept(plan, at)
                at = cal.staff(at, 1, 9)
                plan.add(at, self._do_convert, out)
                conversions.append(at)
                out.cases.append(plan)
                steps.extend(plan.steps)
            self.outputs.append(out)
            if not recorded:
                self._fit(steps, (60, 5 * 1440))
                continue
            out.outcome = self._outcome_text(out)
            outcome = Step(
                cal.staff(max(conversions), *delays[output_type]),
                self._do_outcome,
                (out, self.rng.choice(self.staff_by_committee[committee_id])),
            )
            self._fit([*steps, outcome], (60, 20 * 1440))
            self.outcome_steps.append(outcome)
            for plan in out.cases:
                if self.rng.random() < 0.76:
                    at = cal.member(outcome.at, 0.5, 14)
                    if at > cal.cap:  # not yet: somewhere between the outcome and now
                        at = outcome.at + (cal.cap - outcome.at) * cal.rng.uniform(0.2, 0.9)
                    self._feedback(plan, at)

    def _outcome_text(self, out: OutputPlan) -> str:
        dept = out.theme.dept
        if out.output_type == OutputType.PROPOSAL:
            letter, label, reply = self.rng.choices(REPLY_CLASSES, weights=(55, 35, 10))[0]
            return f"该提案经审查立案，交{dept}主办。{dept}答复：{reply}。答复类别：{letter}（{label}）。"
        if out.output_type == OutputType.INFO_REPORT:
            return f"该信息{self.rng.choice(ADOPTION)}。"
        if out.output_type == OutputType.SPEECH:
            return self.rng.choice(SPEECH_OUTCOMES).format(dept=dept) + "。"
        return self.rng.choice(RESEARCH_OUTCOMES).format(dept=dept) + "。"

    def _plan_merges(self, count: int) -> None:
        """The same concern raised again by another member, merged into the open case by staff."""
        masters = [
            p
            for p in self.plans
            if p.kind in ("output", "conversion", "review_answered", "needs_info") and p.opened is not None
        ]
        for master in self.rng.sample(masters, count):
            plan = self._new_plan(
                "merged", master.theme, town=master.place["town"], avoid={master.member.pk}, staff=master.staff
            )
            assert master.opened is not None
            start = master.opened.at + timedelta(hours=1)
            until = min(master.closed.at if master.closed else self.cal.cap, self.cal.cap)
            at = start + (until - start) * self.cal.rng.uniform(0.05, 0.4)
            plan.opened = plan.add(at, self._do_file, True)
            decided = self.cal.staff(at, 0, 2)
            if decided >= until:
                decided = at + (until - at) * self.cal.rng.uniform(0.3, 0.9)
            plan.closed = plan.add(decided, self._do_merge, master)

    def _plan_all(self) -> None:
        self.plans: list[CasePlan] = []
        self.outputs: list[OutputPlan] = []
        self.outcome_steps: list[Step] = []
        singles: list[tuple[str, int, tuple[float, float], str]] = [
            ("draft", 14, (0.5, 40), "policy"),
            ("review", 16, (0.3, 12), "policy"),
            ("review_claimed", 12, (0.5, 10), "policy"),
            ("review_answered", 8, (3, 15), "policy"),
            ("needs_info", 10, (1, 14), "policy"),
            ("conversion", 9, (3, 25), "policy"),
            ("conversion_claimed", 5, (3, 20), "policy"),
            ("rejected", 5, (3, 20), "personal"),
            ("rejected_closed", 10, (20, 200), "personal"),
            ("redirected", 5, (3, 20), "personal"),
            ("redirected_closed", 12, (20, 200), "personal"),
            ("resolved", 5, (3, 20), "small"),
            ("resolved_closed", 16, (20, 200), "small"),
            ("sendback_conv_review", 3, (5, 30), "policy"),
            ("sendback_conv_resolve", 2, (20, 60), "small"),
            ("sendback_info_accept", 3, (8, 40), "policy"),
            ("sendback_reject_accept", 2, (8, 40), "policy"),
            ("sendback_resolve_redirect", 2, (8, 40), "personal"),
        ]
        pools = {"policy": POLICY_THEMES, "small": SMALL_THEMES, "personal": PERSONAL_THEMES}
        for kind, count, window, pool in singles:
            for _ in range(count):
                theme = self.rng.choice(pools[pool])
                if kind.startswith("rejected") and self.rng.random() < 0.25:
                    theme = self.rng.choice(POLICY_THEMES)  # could not be verified: rejected for that
                self._plan_single(kind, theme, window)
        self._plan_outputs(145)
        self._plan_merges(16)

    # -- cases: run ---------------------------------------------------------------------------

    def _run_cases(self) -> None:
        self.cal = Calendar(random.Random(SEED + 1), cap=self.real_now - timedelta(minutes=30))
        self.users_by_id = {u.pk: u for _r, u, _p in self.credentials}
        self._plan_all()
        steps = [s for p in self.plans for s in p.steps] + self.outcome_steps
        steps.sort(key=lambda s: s.at)  # stable: a case's own steps keep their order
        self.say(f"按时间顺序办理民情案件 {len(self.plans)} 件（{len(steps)} 个操作）…")
        for done, step in enumerate(steps, 1):
            self.clock.at = step.at
            step.run(*step.args)
            if done % 500 == 0:
                self.say(f"  已完成 {done}/{len(steps)} 个操作")
        # Staff coming in this morning take the most urgent task of their queue.
        self.clock.at = self.cal.cap + timedelta(minutes=10)
        for code in ("sf", "jj"):
            actions.claim_next(committee_id=self.committees[code].pk, actor=self.staff[code][-1])
        self.clock.at = self.real_now

    def _staff(self, plan: CasePlan) -> User:
        """Whoever holds the open staff task decides it; otherwise the planned staff member."""
        assert plan.case_id is not None
        task = engine.open_task(plan.case_id)
        owner = self.users_by_id.get(task.owner_id) if task is not None and task.owner_id else None
        if owner is not None and owner.pk != plan.member.user_id:
            return owner
        return plan.staff

    def _do(self, plan: CasePlan, name: str, actor: User, **data: Any) -> Case:
        return actions.perform(name, case_id=plan.case_id, actor=actor, data=data)

    def _do_file(self, plan: CasePlan, submit: bool) -> None:
        plan.case_id = actions.file_case(actor=plan.member.user, data={**plan.fields, "submit": submit}).pk

    def _do_submit(self, plan: CasePlan) -> None:
        self._do(plan, "submit", plan.member.user)

    def _do_claim(self, plan: CasePlan) -> None:
        self._do(plan, "claim", plan.staff)

    def _do_accept(self, plan: CasePlan, note: str) -> None:
        self._do(plan, "accept", self._staff(plan), note=note)

    def _do_request_info(self, plan: CasePlan, question: str) -> None:
        self._do(plan, "request_info", self._staff(plan), question=question)

    def _do_answer_info(self, plan: CasePlan, answer: str) -> None:
        self._do(plan, "answer_info", plan.member.user, answer=answer)

    def _do_reject(self, plan: CasePlan, reason_id: int, note: str) -> None:
        self._do(plan, "reject", self._staff(plan), reason=reason_id, note=note)

    def _do_redirect(self, plan: CasePlan, channel: str, note: str) -> None:
        self._do(plan, "redirect", self._staff(plan), channel=channel, note=note)

    def _do_resolve(self, plan: CasePlan, note: str) -> None:
        self._do(plan, "resolve", self._staff(plan), note=note)

    def _do_merge(self, plan: CasePlan, master: CasePlan) -> None:
        note = f"与 #{master.case_id} 反映的是同一问题，合并办理。"
        self._do(plan, "merge", self._staff(plan), into=master.case_id, note=note)

    def _do_send_back(self, plan: CasePlan, reason: str) -> None:
        self._do(plan, "send_back", plan.staff, reason=reason)

    def _do_convert(self, plan: CasePlan, out: OutputPlan) -> None:
        case = self._do(
            plan, "convert", self._staff(plan), output_type=out.output_type, output=out.output_id, title=out.title
        )
        if out.output_id is None:
            out.output_id = case.output_id
            # Term and session are not set by conversion yet: file the output under the current session.
            created = self.clock.at.astimezone(SHANGHAI).date()
            session = next((s for s in reversed(self.sessions) if s.opens_on <= created), None)
            Output.objects.filter(pk=out.output_id).update(term=self.term, session=session)

    def _do_outcome(self, out: OutputPlan, actor: User) -> None:
        assert out.output_id is not None
        actions.perform_output("record_outcome", output_id=out.output_id, actor=actor, data={"outcome": out.outcome})

    def _do_feedback(self, plan: CasePlan, method: str, satisfaction: str, note: str) -> None:
        self._do(plan, "feedback", plan.member.user, method=method, satisfaction=satisfaction, note=note)

    # -- accounts and report ------------------------------------------------------------------

    def _store_passwords(self) -> None:
        self.say(f"保存账号口令（{len(self.hashes)} 个）和接口令牌…")
        users = []
        for _role, user, _pw in self.credentials:
            user.password = self.hashes[user.pk].result()
            users.append(user)
        User.objects.bulk_update(users, ["password"], batch_size=200)
        Token.objects.bulk_create([Token(key=Token.generate_key(), user=u) for u in users])

    def _report(self, seconds: float) -> None:
        counts = Counter(Case.objects.filter(organisation=self.org).values_list("status", flat=True))
        self.say(f"演示数据已生成，用时 {seconds:.1f} 秒。案件状态分布：")
        for status in CaseStatus:
            self.say(f"  {status.label}（{status.value}）：{counts.get(status.value, 0)}")
        outputs = Counter(Output.objects.filter(organisation=self.org).values_list("output_type", flat=True))
        self.say("成果：" + "，".join(f"{t.label} {outputs.get(t.value, 0)}" for t in OutputType))
        self.say("")
        self.say("账号和初始口令（只显示这一次，请妥善保存）：")
        width = max(len(u.username) for _r, u, _p in self.credentials)
        self.say(f"{'角色':　<12}{'用户名':<{width + 2}}{'姓名':　<8}口令")
        for label, user, password in self.credentials:
            self.say(f"{label:　<12}{user.username:<{width + 2}}{user.display_name:　<8}{password}")
