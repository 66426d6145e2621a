"""Factory fixtures: each makes its objects through the real services, commits, and
returns them detached (plain columns readable outside an app context).

- ``users``: ``make_user``, ``login_as``, ``logged_admin``, ``second_client``
- ``licenses``: ``make_specialization``, ``make_license``, ``make_request``, ``signed_license``,
  ``legacy_license`` (signed as before signing contexts)
- ``classes``: ``assign`` (an instructor's specializations), ``make_class``, ``join``,
  ``fill_class``, ``class_of_students``
- ``achievements``: ``make_achievement``, ``awards_of``
"""
