import uuid

import factory

from apps.accounts.models import CustomerSession, Membership, Role, User, Workspace
from apps.chat.models import Conversation, Message


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pw-for-tests-only")


class WorkspaceFactory(factory.django.DjangoModelFactory[Workspace]):
    class Meta:
        model = Workspace

    name = factory.Sequence(lambda n: f"Company {n}")
    slug = factory.Sequence(lambda n: f"company-{n}")
    allowed_origins = factory.LazyAttribute(lambda w: [f"https://{w.slug}.example.com"])


class MembershipFactory(factory.django.DjangoModelFactory[Membership]):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    workspace = factory.SubFactory(WorkspaceFactory)
    role = Role.AGENT


class CustomerSessionFactory(factory.django.DjangoModelFactory[CustomerSession]):
    class Meta:
        model = CustomerSession

    id = factory.LazyFunction(uuid.uuid4)
    workspace = factory.SubFactory(WorkspaceFactory)


class ConversationFactory(factory.django.DjangoModelFactory[Conversation]):
    class Meta:
        model = Conversation

    workspace = factory.SubFactory(WorkspaceFactory)
    customer_session = factory.SubFactory(
        CustomerSessionFactory, workspace=factory.SelfAttribute("..workspace")
    )


class MessageFactory(factory.django.DjangoModelFactory[Message]):
    class Meta:
        model = Message

    conversation = factory.SubFactory(ConversationFactory)
    sender = Message.Sender.CUSTOMER
    text = factory.Sequence(lambda n: f"message {n}")
