"""factory_boy factories for the shared models. Tests of rules go through services;
factories only build the starting state."""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from courses.models import ContentStatus, Course, Lesson, LessonPlacement, Module
from lms.models import Tenant


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Tenant {n}")


class CourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Course

    tenant = factory.SubFactory(TenantFactory)
    title = factory.Sequence(lambda n: f"Course {n}")
    short_description = "A short description"
    description = "A longer description"
    start_datetime = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=1))
    end_datetime = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=90))
    status = ContentStatus.PUBLISHED


class ModuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Module

    course = factory.SubFactory(CourseFactory)
    tenant = factory.SelfAttribute("course.tenant")
    title = factory.Sequence(lambda n: f"Module {n}")
    description = "Module description"
    status = ContentStatus.PUBLISHED
    ordering = factory.Sequence(lambda n: n + 1)


class LessonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lesson

    tenant = factory.SubFactory(TenantFactory)
    title = factory.Sequence(lambda n: f"Lesson {n}")
    description = "Lesson description"
    status = ContentStatus.PUBLISHED
    format = "video"


class PlacementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LessonPlacement

    module = factory.SubFactory(ModuleFactory)
    course = factory.SelfAttribute("module.course")
    tenant = factory.SelfAttribute("module.tenant")
    lesson = factory.SubFactory(LessonFactory, tenant=factory.SelfAttribute("..tenant"))
    ordering = factory.Sequence(lambda n: n + 1)


def build_course(*, tenant, modules: int = 2, lessons_per_module: int = 2, **course_fields) -> Course:
    """A published course with `modules` × `lessons_per_module` published, placed lessons."""
    course = CourseFactory(tenant=tenant, **course_fields)
    for m in range(modules):
        module = ModuleFactory(course=course, tenant=tenant, ordering=m + 1)
        for position in range(lessons_per_module):
            PlacementFactory(module=module, course=course, tenant=tenant, ordering=position + 1)
    return course
