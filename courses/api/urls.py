"""Catalogue routes. Explicit paths with `<uuid:...>` converters and no trailing slash, so the
literal paths other apps own (`/courses/tracking`, `/lessons/tracking`) never match a detail route."""

from django.urls import path

from courses.api.categories import CategoryViewSet
from courses.api.views import CourseViewSet, LessonViewSet, ModuleViewSet

urlpatterns = [
    path("courses", CourseViewSet.as_view({"get": "list", "post": "create"}), name="course-list"),
    path("courses/lessons", LessonViewSet.as_view({"post": "place"}), name="lesson-place"),
    path("courses/details/<uuid:pk>", CourseViewSet.as_view({"get": "details"}), name="course-details"),
    path(
        "courses/<uuid:pk>",
        CourseViewSet.as_view({"get": "retrieve", "put": "update", "delete": "destroy"}),
        name="course-detail",
    ),
    path("modules", ModuleViewSet.as_view({"post": "create"}), name="module-list"),
    path("modules/course/<uuid:course_id>", ModuleViewSet.as_view({"get": "by_course"}), name="module-by-course"),
    path(
        "modules/<uuid:pk>",
        ModuleViewSet.as_view({"get": "retrieve", "put": "update", "delete": "destroy"}),
        name="module-detail",
    ),
    path("lessons", LessonViewSet.as_view({"get": "list", "post": "create"}), name="lesson-list"),
    path("lessons/module/<uuid:module_id>", LessonViewSet.as_view({"get": "by_module"}), name="lesson-by-module"),
    path("lessons/course/<uuid:course_id>", LessonViewSet.as_view({"get": "by_course"}), name="lesson-by-course"),
    path(
        "lessons/<uuid:pk>",
        LessonViewSet.as_view({"get": "retrieve", "put": "update", "delete": "destroy"}),
        name="lesson-detail",
    ),
    path("categories", CategoryViewSet.as_view({"get": "list", "post": "create"}), name="category-list"),
    path(
        "categories/<uuid:pk>",
        CategoryViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
        name="category-detail",
    ),
]
