"""Made-up accounts, people, companies and texts for every generated request,
in Russian or English.

Small fixed tables instead of a fake-data library: the same seed gives the
same bytes on every install and every version, and nothing heavy is
imported. Standard library only.
"""

from __future__ import annotations

import random
import uuid

__all__ = ["DOMAINS", "LOCALES", "WINDOW", "Account", "Fake"]

LOCALES = ("ru", "en")

#: Russian accounts live on amocrm.ru, international ones on kommo.com.
DOMAINS = {"ru": "amocrm.ru", "en": "kommo.com"}

#: Generated times fall in a fixed window, so that a seed gives the same bytes
#: on any day: 2025-06-01 .. 2026-06-01 (UTC).
WINDOW = (1748736000, 1780272000)

_SUBDOMAIN_WORDS = (
    "anyor", "stroymarket", "autoservice", "mebelgrad", "teplodom", "okna", "dental",
    "fitnesspro", "avtodom", "studio", "kvartira", "realty", "logistic", "tourist",
    "beauty", "printlab", "agrotech", "eduonline", "santehnika", "kovka", "cleanpro",
    "electro", "techsnab", "zoomag", "flowers", "optima", "vektor", "alfa", "delta",
)  # fmt: skip

_TABLES: dict[str, dict[str, tuple[str, ...]]] = {
    "ru": {
        "male_first": ("Иван", "Алексей", "Дмитрий", "Сергей", "Андрей", "Михаил", "Артём",
                       "Николай", "Павел", "Егор", "Кирилл", "Роман"),
        "female_first": ("Мария", "Ольга", "Анна", "Елена", "Наталья", "Татьяна", "Ксения",
                         "Дарья", "Екатерина", "Юлия", "Ирина", "Светлана"),
        "male_last": ("Иванов", "Смирнов", "Кузнецов", "Попов", "Соколов", "Лебедев", "Козлов",
                      "Новиков", "Морозов", "Волков", "Фёдоров", "Михайлов"),
        "female_last": ("Иванова", "Смирнова", "Кузнецова", "Попова", "Соколова", "Лебедева",
                        "Козлова", "Новикова", "Морозова", "Волкова", "Фёдорова", "Михайлова"),
        "company": ("ООО «Вектор»", "ООО «СтройМаркет»", "ИП Петров А. В.", "АО «Альфа Логистик»",
                    "ООО «Теплодом»", "ООО «Мебельград»", "ООО «ТехСнаб»", "ГК «Оптима»",
                    "ООО «Дентал Плюс»", "ООО «Агротех»"),
        "deal": ("Заявка с сайта", "Кухня на заказ", "Шкаф-купе", "Ремонт под ключ",
                 "Поставка оборудования", "Годовое обслуживание", "Пластиковые окна",
                 "Консультация", "Звонок из рекламы", "Повторная продажа"),
        "tag": ("VIP", "сайт", "повторный", "опт", "розница", "срочно", "Авито", "Яндекс.Директ"),
        "message": ("Здравствуйте! Сколько стоит доставка до Казани?",
                    "Добрый день, можно счёт на оплату?",
                    "Подскажите, есть ли в наличии белый цвет?",
                    "Перезвоните мне, пожалуйста, после 18:00",
                    "Спасибо, заказ получили 👍"),
        "note": ("Клиент просил перезвонить после 18:00",
                 "Отправили КП на почту, ждём ответа",
                 "Оплата 50/50, доставка до подъезда",
                 "Не берёт трубку; написать в WhatsApp"),
        "task": ("Перезвонить клиенту", "Отправить коммерческое предложение",
                 "Назначить встречу", "Проверить оплату"),
        "position": ("Директор", "Менеджер по закупкам", "Главный инженер", "Бухгалтер"),
        "product": ("Диван угловой «Милан»", "Кухонный гарнитур", "Монтаж окна",
                    "Сервисный договор", "Доставка"),
        "mail_domain": ("mail.ru", "yandex.ru", "gmail.com", "bk.ru", "inbox.ru"),
        "phone_prefix": ("+7 9",),
        "lead_field": ("Источник", "Город", "Бюджет клиента", "Дата замера"),
        # One of each custom field type amoCRM has, in the order of lead_fields
        # in the generator: select, text, numeric, checkbox, multiselect, date,
        # date-time, radiobutton, URL, textarea.
        "lead_fields": ("Источник", "Город", "Бюджет клиента", "Оплачено", "Услуги",
                        "Дата замера", "Встреча", "Способ связи", "Сайт", "Адрес доставки"),
        "service": ("Замер", "Доставка", "Монтаж", "Сборка", "Гарантия"),
        "contact_method": ("Звонок", "WhatsApp", "Telegram", "E-mail"),
        "street": ("ул. Ленина, д. 5", "пр. Мира, д. 12, корп. 2", "ул. Садовая, д. 40",
                   "ул. Гагарина, д. 7"),
        "flat": ("кв. 12", "офис 301", "подъезд 2, этаж 4", "кв. 87"),
        "birthday_field": ("День рождения",),
        "web_field": ("Web",),
        "address_field": ("Адрес",),
        "description_field": ("Описание",),
        "unit_field": ("Ед. изм.",),
        "unit": ("шт", "кг", "м²", "час"),
        "form": ("Форма на сайте", "Расчёт стоимости", "Обратный звонок"),
        "file": ("фото.jpg", "договор.pdf", "смета.xlsx", "IMG_2041.jpg"),
        "source": ("Сайт", "Авито", "Рекомендация", "Холодный звонок"),
        "city": ("Москва", "Санкт-Петербург", "Казань", "Новосибирск", "Екатеринбург"),
        "phone_field": ("Телефон",),
        "email_field": ("Email",),
        "position_field": ("Должность",),
        "catalog": ("Товары", "Услуги"),
    },
    "en": {
        "male_first": ("James", "John", "Robert", "Michael", "David", "Daniel", "Thomas",
                       "Mark", "Paul", "Steven", "Kevin", "Brian"),
        "female_first": ("Mary", "Patricia", "Jennifer", "Linda", "Emma", "Sarah", "Karen",
                         "Nancy", "Lisa", "Laura", "Emily", "Olivia"),
        "male_last": ("Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis",
                      "Wilson", "Taylor", "Clark", "Lewis", "Walker"),
        "female_last": ("Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis",
                        "Wilson", "Taylor", "Clark", "Lewis", "Walker"),
        "company": ("Acme Corp", "Globex LLC", "Initech Inc.", "Umbrella Logistics",
                    "Stark Supplies", "Wayne Interiors", "Hooli Services", "Vandelay Imports"),
        "deal": ("Website enquiry", "Custom kitchen", "Office fit-out", "Annual service plan",
                 "Equipment supply", "Consultation", "Ad campaign call", "Repeat order"),
        "tag": ("VIP", "website", "repeat", "wholesale", "retail", "urgent", "referral"),
        "message": ("Hi! How much is shipping to Boston?", "Hello, could you send the invoice?",
                    "Do you have it in white?", "Please call me back after 6 pm",
                    "Thanks, we got the order 👍"),
        "note": ("Asked to be called back after 6 pm", "Sent the quote by e-mail",
                 "50% upfront, 50% on delivery", "Not answering; try WhatsApp"),
        "task": ("Call the client back", "Send the quote", "Book a meeting", "Check the payment"),
        "position": ("CEO", "Purchasing manager", "Chief engineer", "Accountant"),
        "product": ("Corner sofa", "Kitchen set", "Window installation", "Service contract",
                    "Delivery"),
        "mail_domain": ("gmail.com", "outlook.com", "yahoo.com", "example.com"),
        "phone_prefix": ("+1 ",),
        "lead_field": ("Source", "City", "Client budget", "Measurement date"),
        "lead_fields": ("Source", "City", "Client budget", "Paid", "Services",
                        "Measurement date", "Meeting", "Contact method", "Website",
                        "Delivery address"),
        "service": ("Measurement", "Delivery", "Installation", "Assembly", "Warranty"),
        "contact_method": ("Call", "WhatsApp", "Telegram", "E-mail"),
        "street": ("12 Main St", "400 Park Ave, Suite 5", "77 Ocean Dr", "9 Elm St"),
        "flat": ("Apt 12", "Floor 3", "Unit 4B", "Apt 87"),
        "birthday_field": ("Birthday",),
        "web_field": ("Web",),
        "address_field": ("Address",),
        "description_field": ("Description",),
        "unit_field": ("Unit",),
        "unit": ("pcs", "kg", "sq ft", "hour"),
        "form": ("Website request", "Price quote", "Call me back"),
        "file": ("photo.jpg", "contract.pdf", "estimate.xlsx", "IMG_2041.jpg"),
        "source": ("Website", "Referral", "Cold call", "Google Ads"),
        "city": ("New York", "Chicago", "Boston", "Austin", "Seattle"),
        "phone_field": ("Phone",),
        "email_field": ("Email",),
        "position_field": ("Position",),
        "catalog": ("Products", "Services"),
    },
}  # fmt: skip

_LATIN = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        "a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh sch  y  e yu ya".split(" "),
        strict=True,
    )
)


def _latin(text: str) -> str:
    return "".join(_LATIN.get(ch, ch) for ch in text.lower())


def _known(locale: str) -> str:
    if locale not in _TABLES:
        from .errors import UsageError

        raise UsageError(f"unknown locale {locale!r}; choose from: {', '.join(LOCALES)}")
    return locale


def _subdomain(rng: random.Random) -> str:
    word = rng.choice(_SUBDOMAIN_WORDS)
    roll = rng.random()
    if roll < 0.35:
        return f"{word}{rng.randint(1, 99)}"
    if roll < 0.55:
        return f"{word}{rng.choice(('crm', 'shop', 'msk', 'spb', 'group', 'pro'))}"
    return word


class Account:
    """One made-up amoCRM account: its id, subdomain and domain (by locale),
    pipelines, periods, users and custom field ids. Webhooks and callbacks
    come from it alike: the same seed, the same account."""

    def __init__(self, rng: random.Random, locale: str = "ru") -> None:
        self.id = rng.randint(10_000_000, 99_999_999)
        self.subdomain = _subdomain(rng)
        self.domain = DOMAINS[_known(locale)]
        self.pipelines: dict[int, list[int]] = {}
        for _ in range(rng.randint(1, 3)):
            pipeline = rng.randint(1_000_000, 9_999_999)
            first = rng.randint(10_000_000, 99_999_000)
            # Stages of one pipeline get nearby ids, as amoCRM creates them.
            stages = sorted({first + rng.randint(0, 12_000) for _ in range(rng.randint(4, 7))})
            self.pipelines[pipeline] = stages
        base = rng.randint(1_000_000, 90_000_000)
        self.periods = [base + i * rng.randint(1, 40) for i in range(rng.randint(3, 5))]
        # Account-level extras come from a source derived from the account itself,
        # so that they do not shift the values of DP webhooks of the same seed.
        self._extra = random.Random(f"{self.id}:{self.subdomain}")
        self._users: list[int] = []
        self._field_ids: dict[str, int] = {}

    @property
    def url(self) -> str:
        return f"https://{self.subdomain}.{self.domain}"

    def users(self) -> list[int]:
        if not self._users:
            rng = self._extra
            self._users = [rng.randint(1_000_000, 9_999_999) for _ in range(rng.randint(3, 6))]
        return self._users

    def field_id(self, name: str) -> int:
        """One id per custom field (or enum) name and account, the same in every item."""
        if name not in self._field_ids:
            self._field_ids[name] = self._extra.randint(100_000, 999_999)
        return self._field_ids[name]


class Fake:
    """Made-up values from one random source and one locale."""

    def __init__(self, rng: random.Random, locale: str = "ru") -> None:
        self.rng = rng
        self.locale = _known(locale)
        self.table = _TABLES[locale]

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def hex(self, size: int) -> str:
        return f"{self.rng.getrandbits(size * 4):0{size}x}"

    def pick(self, name: str) -> str:
        return self.rng.choice(self.table[name])

    def person(self) -> tuple[str, str]:
        """(first name, last name), of one gender."""
        if self.rng.random() < 0.5:
            return self.pick("male_first"), self.pick("male_last")
        return self.pick("female_first"), self.pick("female_last")

    def phone(self) -> str:
        prefix = self.pick("phone_prefix")
        randint = self.rng.randint
        if self.locale == "ru":
            return (
                f"{prefix}{randint(10, 99)} {randint(100, 999)}-{randint(10, 99)}-{randint(10, 99)}"
            )
        return f"{prefix}({randint(200, 989)}) {randint(200, 999)}-{randint(1000, 9999)}"

    def email(self, first: str, last: str) -> str:
        user = f"{_latin(first)}.{_latin(last)}".replace(" ", "")
        if self.rng.random() < 0.3:
            user += str(self.rng.randint(1, 99))
        return f"{user}@{self.pick('mail_domain')}"

    def price(self) -> int:
        return self.rng.choice((0, 1500, 4900, 12000, 25000, 49900, 75000, 120000, 350000))
